using CallLogs.ServiceDefaults.Background;
using Microsoft.Extensions.Options;

namespace CallLogs.Audit.Delivery;

/// <summary>Every <see cref="AuditOptions.DeliveryInterval"/>: deliver new events, write due digests, and at most once an hour purge old events.</summary>
public sealed partial class TrailDeliveryService(
    TrailWriter writer,
    IOptions<AuditOptions> options,
    TimeProvider clock,
    ILogger<TrailDeliveryService> logger) : PeriodicWorker(clock, logger)
{
    private DateTimeOffset _nextPurge = DateTimeOffset.MinValue;

    protected override bool RunsAtStart => false;

    protected override TimeSpan NextWait(DateTimeOffset lastStarted) => options.Value.DeliveryInterval;

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await writer.DeliverAsync(cancellationToken);
        var now = Clock.GetUtcNow();
        await writer.WriteDigestsAsync(now, cancellationToken);
        if (now >= _nextPurge)
        {
            var purged = await writer.PurgeAsync(now, cancellationToken);
            if (purged > 0)
            {
                LogPurged(Logger, purged);
            }

            _nextPurge = now.AddHours(1);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged {Count} audit events past the retention period")]
    private static partial void LogPurged(ILogger logger, int count);
}
