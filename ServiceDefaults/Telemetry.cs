using System.Diagnostics.Metrics;

namespace CallLogs.ServiceDefaults;

/// <summary>The meter every CallLogs service records its own figures on.</summary>
public static class Telemetry
{
    public const string MeterName = "CallLogs";
    public static readonly Meter Meter = new(MeterName);
}
