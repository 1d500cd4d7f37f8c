using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Drops what can no longer matter: staged records and assignments of hours so old that a record of them would now
/// be refused as too late — once every profile of the area has looked at them and no pending object still needs
/// them. Objects stay (they are the status history).
/// </summary>
public sealed partial class StagingCleanup(ExportDbContext db, IOptions<ExportOptions> options, TimeProvider clock, ILogger<StagingCleanup> logger)
{
    public async Task<(int Records, int Assignments)> RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var cutoff = ExportRules.HourOf(now - options.Value.MaxLateness).AddHours(-1);
        var records = await db.Database.ExecuteSqlAsync($"""
            DELETE FROM staged_records s
            WHERE s.request_time < {cutoff}
              AND s.received_at < (SELECT COALESCE(MIN(p.received_watermark), 'infinity') FROM profiles p WHERE p.area_id = s.area_id AND NOT p.deleted) - interval '2 minutes'
              AND NOT EXISTS (SELECT 1 FROM assignments a JOIN export_objects o ON o.id = a.object_id
                              WHERE a.request_uuid = s.request_uuid AND NOT o.uploaded AND o.profile_id IN (SELECT id FROM profiles WHERE area_id = s.area_id))
            """, cancellationToken);
        var assignments = await db.Database.ExecuteSqlAsync($"""
            DELETE FROM assignments a USING export_objects o
            WHERE a.object_id = o.id AND o.uploaded AND o.hour_start < {cutoff}
            """, cancellationToken);
        if (records + assignments > 0)
        {
            LogCleaned(logger, records, assignments, cutoff);
        }

        return (records, assignments);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped {Records} staged records and {Assignments} assignments of hours before {Cutoff}")]
    private static partial void LogCleaned(ILogger logger, int records, int assignments, DateTimeOffset cutoff);
}
