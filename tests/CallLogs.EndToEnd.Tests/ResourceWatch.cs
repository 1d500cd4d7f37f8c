using System.Collections.Concurrent;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using CallLogs.Testing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CallLogs.EndToEnd.Tests;

/// <summary>The latest snapshot of every resource instance, kept up to date from the AppHost's notifications.</summary>
public sealed class ResourceWatch(DistributedApplication app)
{
    private readonly ConcurrentDictionary<string, ResourceEvent> _latest = new();

    public async Task WatchAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var update in app.ResourceNotifications.WatchAsync(cancellationToken))
            {
                _latest[update.ResourceId] = update;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private ResourceEvent? Find(string idOrName) =>
        _latest.TryGetValue(idOrName, out var byId) ? byId : _latest.Values.SingleOrDefault(e => e.Resource.Name == idOrName);

    public string? State(string id) => Find(id)?.Snapshot.State?.Text;

    public int? ExitCode(string id) => Find(id)?.Snapshot.ExitCode;

    public bool IsHealthy(string id) => Find(id)?.Snapshot is { } s && s.State?.Text == KnownResourceStates.Running && s.HealthStatus == HealthStatus.Healthy;

    public int? Pid(string id) => Find(id)?.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value switch
    {
        int pid => pid,
        long pid => (int)pid,
        string text when int.TryParse(text, out var pid) => pid,
        _ => null,
    };

    /// <summary>One running, healthy instance of a service (the first by id), with the id of the process DCP started for it.</summary>
    public async Task<(string Id, int Launcher)> InstanceAsync(string service)
    {
        await Eventually.Until(() => Instances(service).Any(e => IsHealthy(e.ResourceId) && Pid(e.ResourceId) is not null), FaultTests.Recovery, $"a healthy {service} instance");
        var instance = Instances(service).Where(e => IsHealthy(e.ResourceId)).OrderBy(e => e.ResourceId).First();
        return (instance.ResourceId, Pid(instance.ResourceId)!.Value);
    }

    private IEnumerable<ResourceEvent> Instances(string service) => _latest.Values.Where(e => e.Resource is ProjectResource && e.Resource.Name == service);
}
