using CallLogs.Ingest.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Ingest.Data;

/// <summary>Removes call records past their area's retention: whole day partitions when every area is done with them.</summary>
public sealed partial class RetentionJob(IServiceScopeFactory scopes, CallRecordStore store, IOptions<IngestOptions> options, TimeProvider clock,
    ILogger<RetentionJob> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex);
            }

            try
            {
                await Task.Delay(options.Value.RetentionInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IngestDbContext>();
        var areas = await db.AreaRetentions.AsNoTracking().ToDictionaryAsync(a => a.AreaId, a => a.Days, cancellationToken);
        var (dropped, deleted) = await store.ExpireAsync(clock.GetUtcNow(), options.Value.DefaultRetentionDays, areas, cancellationToken);
        if (dropped + deleted > 0)
        {
            LogExpired(logger, dropped, deleted);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: dropped {Partitions} day partitions, deleted {Rows} rows")]
    private static partial void LogExpired(ILogger logger, int partitions, int rows);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention pass failed; trying again at the next interval")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
