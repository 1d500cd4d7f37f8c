using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CallLogs.ServiceDefaults;

/// <summary>
/// Long operations' progress as metrics (<c>calllogs.operations.progress</c>: the share done, 0 to 1, of each running
/// operation, tagged with its kind and id), for the Aspire dashboard and scrapers alike.
/// </summary>
public static class OperationProgress
{
    private static readonly ConcurrentDictionary<Guid, (string Kind, double Share)> Running = new();

    private static readonly ObservableGauge<double> Progress = Telemetry.Meter.CreateObservableGauge("calllogs.operations.progress",
        () => Running.Select(o => new Measurement<double>(o.Value.Share,
            new KeyValuePair<string, object?>("operation.kind", o.Value.Kind), new KeyValuePair<string, object?>("operation.id", o.Key))),
        unit: "{ratio}", description: "Share done of each running long operation");

    private static readonly ObservableGauge<int> Count = Telemetry.Meter.CreateObservableGauge("calllogs.operations.running",
        () => Running.Count, unit: "{operation}", description: "Long operations running on this instance");

    public static void Report(Guid id, string kind, long done, long total) => Running[id] = (kind, total > 0 ? Math.Min(1.0, (double)done / total) : 0);

    public static void Finish(Guid id) => Running.TryRemove(id, out _);
}
