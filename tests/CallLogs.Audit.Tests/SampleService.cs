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
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CallLogs.Audit.Tests;

/// <summary>
/// A small service built like every CallLogs service (AddServiceDefaults, its own database and outbox, MapDefaultEndpoints)
/// with management endpoints that know nothing of auditing, and one bulk endpoint that opts out. It stands for the
/// profile, stream and ingest services: what it shows holds for them. Its tables come from the audit service's
/// migrations (the only part of the audit service it uses): a widget is a row of <c>audit_areas</c> keyed
/// <c>widget/{id}/{name}</c>, so creating one is a real change in the service's database, made through EF Core the way
/// services make theirs (SaveChanges, an explicit transaction, a bulk statement).
/// </summary>
public sealed class SampleService : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SampleService(WebApplication app, string database)
    {
        _app = app;
        Database = database;
    }

    public IServiceProvider Services => _app.Services;

    /// <summary>The connection string of the service's database.</summary>
    public string Database { get; }

    public static async Task<SampleService> StartAsync(Infrastructure infra, string messaging, string? database = null,
        IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Testing",
            ApplicationName = typeof(SampleService).Assembly.GetName().Name,
        });
        builder.WebHost.UseTestServer();
        database ??= await infra.NewDatabaseAsync();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = messaging,
            ["ConnectionStrings:sampledb"] = database,
            ["Auth:SigningKey"] = infra.SigningKey,
            ["OTEL_SERVICE_NAME"] = "sample",
            ["Outbox:PollInterval"] = "00:00:00.200",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.AddServiceDefaults();
        builder.AddServiceDatabase<AuditDbContext>("sampledb");
        builder.AddOutbox<AuditDbContext>();
        builder.AddMessaging();
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        var widgets = app.MapGroup("/api/areas/{areaId:guid}/widgets");
        widgets.MapPost("/", CreateWidget).WithName("CreateWidget").RequireAreaRole(Roles.AreaAdmin);
        widgets.MapGet("/{widgetId:guid}", GetWidget).WithName("GetWidget").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        widgets.MapDelete("/{widgetId:guid}", DeleteWidget).WithName("DeleteWidget").RequireAreaRole(Roles.AreaAdmin);
        widgets.MapPost("/pair", CreatePair).WithName("CreateWidgetPair").RequireAreaRole(Roles.AreaAdmin);
        widgets.MapPost("/bulk", (List<WidgetRequest> batch) => TypedResults.Ok(batch.Count)).WithName("CreateBulk").RequireAreaRole(Roles.AreaAdmin).ExcludeFromAudit();
        app.MapGet("/api/ops/widgets", (AuditDbContext db) => db.Areas.CountAsync()).WithName("ListWidgets").RequireRoles(Roles.Operator);
        app.MapPost("/api/ops/widgets/recount", () => TypedResults.Ok()).WithName("CreateRecount").RequireRoles(Roles.Operator);
        await app.StartAsync();
        return new SampleService(app, database);
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

    /// <summary>The names of the widgets in the database.</summary>
    public async Task<List<string>> WidgetNamesAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        var keys = await scope.ServiceProvider.GetRequiredService<AuditDbContext>().Areas.AsNoTracking()
            .Where(a => a.AreaKey.StartsWith("widget/")).Select(a => a.AreaKey).ToListAsync();
        return keys.Select(k => k.Split('/', 3)[2]).Order().ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed record WidgetRequest(string Name, string? ClientSecret, string? Password, bool FailAfterSave = false);

    public sealed record Widget(Guid Id, string Name, string ApiToken);

    /// <summary>Two widgets in the handler's own transaction; <c>keep=false</c> rolls it back, <c>duplicate=true</c> makes the second clash and be caught.</summary>
    public sealed record PairRequest(string First, string Second, bool Keep = true, bool Duplicate = false);

    private static async Task<Created<Widget>> CreateWidget(Guid areaId, WidgetRequest request, AuditDbContext db, TimeProvider clock)
    {
        var id = Guid.NewGuid();
        db.Areas.Add(new TrailArea { AreaKey = $"widget/{id}/{request.Name}", FirstSeen = clock.GetUtcNow() });
        await db.SaveChangesAsync();
        if (request.FailAfterSave)
        {
            throw new InvalidOperationException("The handler failed after saving.");
        }

        return TypedResults.Created($"/api/areas/{areaId}/widgets/{id}", new Widget(id, request.Name, "wt_" + Guid.NewGuid().ToString("N")));
    }

    private static async Task<Ok<int>> CreatePair(Guid areaId, PairRequest request, AuditDbContext db, TimeProvider clock)
    {
        var first = Guid.NewGuid();
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            db.Areas.Add(new TrailArea { AreaKey = $"widget/{first}/{request.First}", FirstSeen = clock.GetUtcNow() });
            await db.SaveChangesAsync();
            if (request.Keep)
            {
                await transaction.CommitAsync();
            }
        }

        db.ChangeTracker.Clear();
        var secondKey = request.Duplicate ? $"widget/{first}/{request.First}" : $"widget/{Guid.NewGuid()}/{request.Second}";
        db.Areas.Add(new TrailArea { AreaKey = secondKey, FirstSeen = clock.GetUtcNow() });
        try
        {
            await db.SaveChangesAsync();
        }
        catch (DbUpdateException)
        {
            // A clash the handler expects and answers: what it saved before stays.
            db.ChangeTracker.Clear();
        }

        // A bulk statement outside any transaction of the handler's.
        return TypedResults.Ok(await db.Areas.Where(a => a.AreaKey.StartsWith("widget/")).ExecuteUpdateAsync(s => s.SetProperty(a => a.FirstSeen, clock.GetUtcNow())));
    }

    private static async Task<Ok<Widget>> GetWidget(Guid areaId, Guid widgetId, AuditDbContext db) =>
        await db.Areas.AsNoTracking().Where(a => a.AreaKey.StartsWith($"widget/{widgetId}/")).Select(a => a.AreaKey).FirstOrDefaultAsync() is { } key
            ? TypedResults.Ok(new Widget(widgetId, key.Split('/', 3)[2], "wt_never_shown_to_readers"))
            : throw ProblemException.NotFound($"No widget {widgetId} in this area. List the area's widgets to find its id.");

    private static async Task<NoContent> DeleteWidget(Guid areaId, Guid widgetId, AuditDbContext db) =>
        await db.Areas.Where(a => a.AreaKey.StartsWith($"widget/{widgetId}/")).ExecuteDeleteAsync() > 0
            ? TypedResults.NoContent()
            : throw ProblemException.NotFound($"No widget {widgetId} in this area. List the area's widgets to find its id.");
}
