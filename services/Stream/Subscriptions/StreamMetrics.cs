using System.Diagnostics.Metrics;
using CallLogs.ServiceDefaults;

namespace CallLogs.Stream.Subscriptions;

internal static class StreamMetrics
{
    public static readonly Counter<long> Received = Telemetry.Meter.CreateCounter<long>("calllogs.stream.records_received", description: "Call records received from the ingest service");
    public static readonly Counter<long> Delivered = Telemetry.Meter.CreateCounter<long>("calllogs.stream.records_delivered", description: "Call records sent to subscribers");
    public static readonly Counter<long> Dropped = Telemetry.Meter.CreateCounter<long>("calllogs.stream.records_dropped", description: "Call records dropped for slow subscribers (their buffer was full)");
    public static readonly UpDownCounter<long> Connections = Telemetry.Meter.CreateUpDownCounter<long>("calllogs.stream.connections", description: "Open subscriptions on this instance");
}
