using CallLogs.Ingest.Extensions;
using CallLogs.ServiceDefaults.Background;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Ingest.Data;

/// <summary>
/// Removes call records past their area's retention by dropping the partitions of the expiry days that have come
/// (<see cref="CallRecordStore.ExpireAsync"/>), and moves the records of an area whose retention changed to their new
/// expiry day. The change is marked done once every instance's cached setting is surely the new one.
/// </summary>
public sealed partial class RetentionJob(IServiceScopeFactory scopes, CallRecordStore store, IOptions<IngestOptions> options, TimeProvider clock,
    ILogger<RetentionJob> logger) : PeriodicWorker(clock, logger)
{
    protected override TimeSpan NextWait(DateTimeOffset lastStarted) => options.Value.RetentionInterval;

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IngestDbContext>();
        var settings = await db.AreaRetentions.AsNoTracking().ToListAsync(cancellationToken);
        var now = Clock.GetUtcNow();
        var changed = settings.Where(a => a.RehomePending).ToList();
        var (dropped, deleted) = await store.ExpireAsync(now, options.Value.DefaultRetentionDays, settings.ToDictionary(a => a.AreaId, a => a.Days),
            changed.Select(a => a.AreaId).ToList(), cancellationToken);
        foreach (var area in changed.Where(a => now - a.UpdatedAt > 2 * AreaRetentionCache.Freshness))
        {
            // Only if the setting is still the one moved to (an area admin may have changed it again meanwhile).
            await db.AreaRetentions.Where(a => a.AreaId == area.AreaId && a.UpdatedAt == area.UpdatedAt)
                .ExecuteUpdateAsync(u => u.SetProperty(a => a.RehomePending, false), cancellationToken);
        }

        if (dropped + deleted > 0)
        {
            LogExpired(Logger, dropped, deleted);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: dropped {Partitions} day partitions, deleted {Rows} rows")]
    private static partial void LogExpired(ILogger logger, int partitions, int rows);
}
