using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.TestServers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace CallLogs.EndToEnd.Tests;

/// <summary>
/// The real AppHost (CallLogs.AppHost's Program.cs) started by Aspire.Hosting.Testing with its servers as executables,
/// in a throw-away data folder, on ports Aspire picks. Tests reach it only from outside: the services' HTTP and
/// WebSocket endpoints and the S3 server, with tokens signed by this run's key.
/// </summary>
/// <remarks>
/// The export service runs two hours ahead (Clock:Offset) with no grace period, and ingest accepts request times up to
/// two hours ahead: records of the next hour are then exported as soon as they are staged, instead of an hour later.
/// Export polls every second (tests) or as given (the system benchmark runs its default). The audit service delivers
/// its trail every five seconds instead of every five minutes.
/// </remarks>
public sealed class AspireSystem(int replicas, TimeSpan exportPollInterval) : IAsyncDisposable
{
    public static readonly string[] Services = ["profile", "ingest", "telephony", "export", "stream", "audit"];
    public static readonly TimeSpan ExportClockOffset = TimeSpan.FromHours(2);

    private readonly string _signingKey = TokenIssuer.NewSigningKey();
    private readonly string _data = Path.Combine(RepositoryPaths.Data, $"e2e-{Guid.NewGuid():N}");
    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");
    public TokenIssuer Tokens => new(_signingKey);

    /// <summary>This run's token signing key: every service instance of the run has it in its environment.</summary>
    public string SigningKey => _signingKey;
    public string DataDirectory => _data;

    public static async Task<AspireSystem> StartAsync(int replicas, TimeSpan? exportPollInterval = null)
    {
        var system = new AspireSystem(replicas, exportPollInterval ?? TimeSpan.FromSeconds(1));
        try
        {
            await system.StartAsync();
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CallLogs_AppHost>(
        [
            "--Infrastructure:Mode=executables",
            $"--Infrastructure:DataDirectory={_data}",
            $"--Replicas:all={replicas}",
            $"--Parameters:auth-signing-key={_signingKey}",
            // The run's own sealing key: the AppHost would otherwise take (or make) the one in its user secrets.
            $"--Parameters:sealing-key={TokenIssuer.NewSigningKey()}",
        ]);
        // Health checks fail while servers start and after they stop (logged as errors); services' own output above warnings is noise here.
        builder.Services.AddLogging(logging => logging
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None)
            .AddFilter("CallLogs.AppHost.Resources", LogLevel.Warning));
        Environment(builder, "ingest", ("Ingest__MaxFutureSkew", "02:00:00"));
        Environment(builder, "export", ("Clock__Offset", "02:00:00"), ("Export__GracePeriod", "00:00:00"), ("Export__PollInterval", exportPollInterval.ToString("c", CultureInfo.InvariantCulture)));
        Environment(builder, "audit", ("Audit__DeliveryInterval", "00:00:05"));
        _app = await builder.BuildAsync();

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await _app.StartAsync(timeout.Token);
        // Every instance healthy (with replicas, a service's name alone names none of its instances).
        var healthy = new HashSet<string>();
        await foreach (var update in _app.ResourceNotifications.WatchAsync(timeout.Token))
        {
            if (update.Resource is not ProjectResource)
            {
                continue;
            }

            if (update.Snapshot.State?.Text is { } state && (state == KnownResourceStates.FailedToStart || state == KnownResourceStates.Exited))
            {
                throw new InvalidOperationException($"{update.ResourceId} did not start: {state} (exit code {update.Snapshot.ExitCode}).");
            }

            if (update.Snapshot.HealthStatus == HealthStatus.Healthy)
            {
                healthy.Add(update.ResourceId);
            }
            else
            {
                healthy.Remove(update.ResourceId);
            }

            if (healthy.Count == Services.Length * replicas)
            {
                break;
            }
        }
    }

    public Uri Url(string service) => App.GetEndpoint(service, "http");

    public async Task<string> ConnectionStringAsync(string resource) =>
        await App.GetConnectionStringAsync(resource) ?? throw new InvalidOperationException($"{resource} has no connection string.");

    public HttpClient Client(string service, string token)
    {
        var http = new HttpClient { BaseAddress = Url(service), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return http;
    }

    /// <summary>Stops everything the AppHost started; the data folder goes with it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }

        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private static void Environment(IDistributedApplicationTestingBuilder builder, string service, params (string Name, string Value)[] variables)
    {
        var project = builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == service));
        foreach (var (name, value) in variables)
        {
            project.WithEnvironment(name, value);
        }
    }
}
