using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Drops what can no longer matter: staged records of hours so old that a record of them would now be refused as too
/// late (so a redelivered one cannot come back), once every profile of the area has looked at them and no pending
/// object still needs them. Objects stay (they are the status history).
/// </summary>
public sealed partial class StagingCleanup(ExportDbContext db, IOptions<ExportOptions> options, TimeProvider clock, ILogger<StagingCleanup> logger)
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var cutoff = ExportRules.HourOf(now - options.Value.MaxLateness).AddHours(-1);
        var records = await db.Database.ExecuteSqlAsync($"""
            DELETE FROM staged_records s
            WHERE s.request_time < {cutoff}
              AND s.seq <= (SELECT COALESCE(MIN(p.planned_through_seq), 9223372036854775807) FROM profiles p WHERE p.area_id = s.area_id AND NOT p.deleted)
              AND NOT EXISTS (SELECT 1 FROM export_objects o JOIN profiles p ON p.id = o.profile_id
                              WHERE p.area_id = s.area_id AND NOT o.uploaded AND o.hour_start = date_trunc('hour', s.request_time, 'UTC'))
            """, cancellationToken);
        if (records > 0)
        {
            LogCleaned(logger, records, cutoff);
        }

        return records;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped {Records} staged records of hours before {Cutoff}")]
    private static partial void LogCleaned(ILogger logger, int records, DateTimeOffset cutoff);
}
