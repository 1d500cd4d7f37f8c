using System.Diagnostics.Metrics;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using CallLogs.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Drops what can no longer matter: staged records of hours so old that a record of them would now be refused as too
/// late (so a redelivered one cannot come back), once every live profile of the area has planned past them and no
/// object still waiting needs them. Nothing can hold it back for ever: objects of deleted profiles are given up when
/// the delete arrives, an object that keeps failing is given up after <c>Export:GiveUpAfter</c> (logged and counted),
/// and a profile that has not planned records staged longer ago than the maximum lateness has lost them anyway.
/// Objects stay (they are the status history).
/// </summary>
public sealed partial class StagingCleanup(ExportDbContext db, ObjectFiles files, IOptions<ExportOptions> options, TimeProvider clock,
    ILogger<StagingCleanup> logger)
{
    private static readonly Counter<long> GivenUp = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.objects_given_up", description: "Objects never written because they kept failing for Export:GiveUpAfter");

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var cutoff = ExportRules.HourOf(now - options.Value.MaxLateness).AddHours(-1);
        var reason = $"Given up after failing for {options.Value.GiveUpAfter}; the last error: ";
        var givenUp = await db.Objects
            .Where(o => !o.Uploaded && o.AbandonedAt == null && o.HourStart < cutoff && o.PendingSince < now - options.Value.GiveUpAfter)
            .ExecuteUpdateAsync(u => u
                .SetProperty(o => o.AbandonedAt, now)
                .SetProperty(o => o.LastError, o => reason + (o.LastError ?? "none")),
                cancellationToken);
        if (givenUp > 0)
        {
            GivenUp.Add(givenUp);
            LogGivenUp(logger, givenUp, options.Value.GiveUpAfter);
        }

        var stagedBefore = now - options.Value.MaxLateness;
        var records = await db.Database.ExecuteSqlAsync($"""
            DELETE FROM staged_records s
            WHERE s.request_time < {cutoff}
              AND (s.received_at < {stagedBefore}
                   OR s.seq <= (SELECT COALESCE(MIN(p.planned_through_seq), 9223372036854775807) FROM profiles p WHERE p.area_id = s.area_id AND NOT p.deleted))
              AND NOT EXISTS (SELECT 1 FROM export_objects o JOIN profiles p ON p.id = o.profile_id
                              WHERE p.area_id = s.area_id AND NOT o.uploaded AND o.abandoned_at IS NULL
                                AND o.hour_start = date_trunc('hour', s.request_time, 'UTC'))
            """, cancellationToken);
        if (records > 0)
        {
            LogCleaned(logger, records, cutoff);
        }

        files.RemoveStale();
        return records;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped {Records} staged records of hours before {Cutoff}")]
    private static partial void LogCleaned(ILogger logger, int records, DateTimeOffset cutoff);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up {Objects} objects that could not be written for {GiveUpAfter}; their records are dropped with the hour")]
    private static partial void LogGivenUp(ILogger logger, int objects, TimeSpan giveUpAfter);
}
