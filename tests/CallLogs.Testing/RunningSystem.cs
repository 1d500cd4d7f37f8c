using CallLogs.AppHost.Hosting;

namespace CallLogs.Testing;

/// <summary>
/// The five services as real processes (their built assemblies, started and supervised by AppHost's own code)
/// against the servers of <see cref="Infrastructure"/>, on a fresh virtual host and fresh databases.
/// </summary>
public sealed class RunningSystem : IAsyncDisposable
{
    public static readonly string[] ServiceNames = ["Profile", "Ingest", "Export", "Stream", "Audit"];

    private readonly List<ServiceResource> _services;
    private readonly OutputTail _log;

    private RunningSystem(List<ServiceResource> services, OutputTail log)
    {
        _services = services;
        _log = log;
    }

    public IReadOnlyList<ServiceResource> Services => _services;
    public string Log => _log.ToString();

    public Uri Url(string service) => _services.Single(s => s.Service == service).Url;

    public ServiceResource this[string service] => _services.Single(s => s.Service == service);

    public static async Task<RunningSystem> StartAsync(Infrastructure infrastructure, TimeSpan? timeout = null)
    {
        var vhost = new Uri(await infrastructure.NewRabbitMqVirtualHostAsync());
        var endpoints = new InfrastructureEndpoints(vhost, infrastructure.RabbitMqManagementUri, infrastructure.PostgresAdminConnectionString, infrastructure.S3ConnectionString);
        var ports = ServiceNames.ToDictionary(s => s, _ => Ports.Free());
        var run = Guid.NewGuid().ToString("N")[..8];
        var log = new OutputTail(400);
        var services = ServiceNames.Select(service => new ServiceResource(service, ports[service],
            ServiceEnvironment.For(service, endpoints, infrastructure.SigningKey, ports, $"e2e_{run}_{service.ToLowerInvariant()}"),
            line => log.Add($"{service.ToLowerInvariant()}| {line}"))).ToList();
        var system = new RunningSystem(services, log);

        foreach (var service in services)
        {
            service.Start();
        }

        try
        {
            await Eventually.Until(() => services.All(s => s.State == ResourceState.Healthy), timeout ?? TimeSpan.FromMinutes(2),
                "all five services healthy");
        }
        catch (TimeoutException ex)
        {
            var states = string.Join(", ", services.Select(s => $"{s.Name}={s.State}"));
            await system.DisposeAsync();
            throw new TimeoutException($"{ex.Message} States: {states}{Environment.NewLine}{log}");
        }

        return system;
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_services.Select(s => s.DisposeAsync().AsTask()));
    }
}
