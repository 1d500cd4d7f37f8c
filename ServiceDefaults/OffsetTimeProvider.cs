namespace CallLogs.ServiceDefaults;

/// <summary>
/// The system clock shifted by a fixed offset (setting <c>Clock:Offset</c>). End-to-end tests run the export service
/// hours ahead, so that an hour of records closes and is written without waiting for it; leave it unset otherwise.
/// </summary>
public sealed class OffsetTimeProvider(TimeSpan offset) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
}
