using System.Net.Http.Headers;
using CallLogs.Audit.Data;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CallLogs.Audit.Tests;

/// <summary>
/// A small service built like every CallLogs service (AddServiceDefaults, its own database and outbox, MapDefaultEndpoints)
/// with a few management endpoints that know nothing of auditing, and one bulk endpoint that opts out. It stands for the
/// profile, stream and ingest services, which are built elsewhere: what it shows holds for them. Its outbox table comes
/// from the audit service's migrations (the only part of the audit service it uses).
/// </summary>
public sealed class SampleService : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SampleService(WebApplication app) => _app = app;

    public IServiceProvider Services => _app.Services;

    public static async Task<SampleService> StartAsync(Infrastructure infra, string messaging, string? database = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Testing",
            ApplicationName = typeof(SampleService).Assembly.GetName().Name,
        });
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = messaging,
            ["ConnectionStrings:sampledb"] = database ?? await infra.NewDatabaseAsync(),
            ["Auth:SigningKey"] = infra.SigningKey,
            ["OTEL_SERVICE_NAME"] = "sample",
            ["Outbox:PollInterval"] = "00:00:00.200",
        });
        builder.AddServiceDefaults();
        builder.AddServiceDatabase<AuditDbContext>("sampledb");
        builder.AddOutbox<AuditDbContext>();
        builder.AddMessaging();

        var app = builder.Build();
        app.MapDefaultEndpoints();
        var widgets = app.MapGroup("/api/areas/{areaId:guid}/widgets");
        widgets.MapPost("/", CreateWidget).WithName("CreateWidget").RequireAreaRole(Roles.AreaAdmin);
        widgets.MapGet("/{widgetId:guid}", GetWidget).RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        widgets.MapDelete("/{widgetId:guid}", DeleteWidget).RequireAreaRole(Roles.AreaAdmin);
        widgets.MapPost("/bulk", (List<WidgetRequest> batch) => TypedResults.Ok(batch.Count)).RequireAreaRole(Roles.AreaAdmin).ExcludeFromAudit();
        await app.StartAsync();
        return new SampleService(app);
    }

    public HttpClient CreateClient(string? token)
    {
        var client = _app.GetTestClient();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed record WidgetRequest(string Name, string? ClientSecret, string? Password);

    public sealed record Widget(Guid Id, string Name, string ApiToken);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, string> Store = new();

    private static Created<Widget> CreateWidget(Guid areaId, WidgetRequest request)
    {
        var id = Guid.NewGuid();
        Store[id] = request.Name;
        return TypedResults.Created($"/api/areas/{areaId}/widgets/{id}", new Widget(id, request.Name, "wt_" + Guid.NewGuid().ToString("N")));
    }

    private static Ok<Widget> GetWidget(Guid areaId, Guid widgetId) =>
        Store.TryGetValue(widgetId, out var name)
            ? TypedResults.Ok(new Widget(widgetId, name, "wt_never_shown_to_readers"))
            : throw ProblemException.NotFound($"No widget {widgetId} in this area. List the area's widgets to find its id.");

    private static NoContent DeleteWidget(Guid areaId, Guid widgetId) =>
        Store.TryRemove(widgetId, out _)
            ? TypedResults.NoContent()
            : throw ProblemException.NotFound($"No widget {widgetId} in this area. List the area's widgets to find its id.");
}
