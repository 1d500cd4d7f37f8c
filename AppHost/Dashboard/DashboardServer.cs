using System.Security.Cryptography;
using System.Text;
using CallLogs.AppHost.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CallLogs.AppHost.Dashboard;

public sealed record ResourceView(string Name, string Kind, string State, int Restarts, string Url, double? UptimeSeconds, int? ProcessId = null);

/// <summary>
/// The operators' dashboard, served by the AppHost: every resource with its state, URL, uptime and logs, a
/// restart action for services, and the system's live figures. Reachable only with the operator token the
/// AppHost prints (as <c>?token=</c> once, which sets a cookie, or as a bearer token).
/// </summary>
public sealed class DashboardServer(
    IReadOnlyList<IServerResource> servers,
    IReadOnlyList<ServiceResource> services,
    LogStore logs,
    FiguresCollector figures) : IAsyncDisposable
{
    private const string CookieName = "calllogs_operator";
    private WebApplication? _app;

    public string Token { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
    public int Port { get; } = Ports.Free();
    public Uri Url => new($"http://127.0.0.1:{Port}/");
    public Uri LoginUrl => new(Url, $"?token={Token}");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "CallLogs.AppHost", ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(Url.ToString().TrimEnd('/'));
        builder.Logging.ClearProviders();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase);
        var app = builder.Build();

        app.Use(async (context, next) =>
        {
            if (context.Request.Query.TryGetValue("token", out var query) && IsToken(query))
            {
                context.Response.Cookies.Append(CookieName, Token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict });
                context.Response.Redirect("/");
                return;
            }

            var bearer = context.Request.Headers.Authorization.ToString();
            if (IsToken(context.Request.Cookies[CookieName]) || (bearer.StartsWith("Bearer ", StringComparison.Ordinal) && IsToken(bearer[7..])))
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsJsonAsync(new
            {
                title = "The dashboard needs the operator token.",
                status = 401,
                detail = "Open the dashboard URL with ?token=<operator token> as printed by the AppHost at start.",
            }, cancellationToken: context.RequestAborted);
        });

        app.MapGet("/", () => Results.Content(Page(), "text/html; charset=utf-8"));
        app.MapGet("/api/resources", Resources);
        app.MapPost("/api/resources/{name}/restart", async (string name) =>
        {
            var service = services.FirstOrDefault(s => s.Name == name);
            if (service is null)
            {
                return Results.Problem(statusCode: 404, title: "No such service.", detail: $"Only services can be restarted: {string.Join(", ", services.Select(s => s.Name))}.");
            }

            await service.RestartAsync();
            return Results.Accepted();
        });
        app.MapGet("/api/logs", (string? resource, string? search, string? level, long? after, int? limit) =>
            logs.Query(resource, search, level, after ?? 0, Math.Clamp(limit ?? 500, 1, 5000)));
        app.MapGet("/api/figures", () => figures.Current);

        await app.StartAsync(cancellationToken);
        _app = app;
    }

    private IReadOnlyList<ResourceView> Resources()
    {
        var now = DateTimeOffset.UtcNow;
        var views = servers.Select(s => new ResourceView(s.Name, "server", s.IsRunning ? "running" : "stopped", 0, s.Url,
            s.IsRunning && s.StartedAt is { } started ? (now - started).TotalSeconds : null)).ToList();
        views.AddRange(services.Select(s => new ResourceView(s.Name, "service", s.State.ToString().ToLowerInvariant(), s.Restarts, s.Url.ToString(),
            s.State == ResourceState.Healthy && s.StartedAt is { } started ? (now - started).TotalSeconds : null, s.ProcessId)));
        views.Add(new ResourceView("dashboard", "dashboard", "running", 0, Url.ToString(), null));
        return views;
    }

    private bool IsToken(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), Encoding.UTF8.GetBytes(Token));

    private static string Page()
    {
        using var stream = typeof(DashboardServer).Assembly.GetManifestResourceStream("CallLogs.AppHost.Dashboard.index.html")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
