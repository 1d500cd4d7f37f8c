using Microsoft.Extensions.Options;

namespace CallLogs.Audit.Delivery;

/// <summary>Every <see cref="AuditOptions.DeliveryInterval"/>: deliver new events, write due digests, purge old events.</summary>
public sealed partial class TrailDeliveryService(
    TrailWriter writer,
    IOptions<AuditOptions> options,
    TimeProvider clock,
    ILogger<TrailDeliveryService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextPurge = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.DeliveryInterval, clock, stoppingToken);
                await writer.DeliverAsync(stoppingToken);
                var now = clock.GetUtcNow();
                await writer.WriteDigestsAsync(now, stoppingToken);
                if (now >= nextPurge)
                {
                    var purged = await writer.PurgeAsync(now, stoppingToken);
                    if (purged > 0)
                    {
                        LogPurged(logger, purged);
                    }

                    nextPurge = now.AddHours(1);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogPassFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit delivery pass failed; the next pass retries what is left")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged {Count} audit events past the retention period")]
    private static partial void LogPurged(ILogger logger, int count);
}
