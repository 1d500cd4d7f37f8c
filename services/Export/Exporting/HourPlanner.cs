using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Export.Consumers;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Decides, for each profile, which records go into which object: for every closed hour (ended plus grace) one first
/// object, and a further object when records of an already written hour arrive late. The records of an object are
/// fixed in the same transaction that creates it (assignments keyed by profile and request id), under a lock on the
/// profile row, so two instances never give a record to two objects.
/// </summary>
public sealed class HourPlanner(ExportDbContext db, IOptions<ExportOptions> options, TimeProvider clock)
{
    private static readonly TimeSpan WatermarkOverlap = TimeSpan.FromMinutes(2);

    public async Task<int> PlanAsync(Guid profileId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var copy = await db.Profiles.FromSql($"SELECT * FROM profiles WHERE id = {profileId} FOR UPDATE SKIP LOCKED").FirstOrDefaultAsync(cancellationToken);
        if (copy is null || copy.Deleted)
        {
            return 0;
        }

        var profile = JsonSerializer.Deserialize<ExportProfileSnapshot>(copy.Snapshot, ProfileCopies.Json)!;
        var closedUntil = ExportRules.HourOf(now - options.Value.GracePeriod);
        var windowEnd = profile.CollectUntil is { } until && until < closedUntil ? until : closedUntil;
        var windowStart = Max(profile.CollectFrom, ExportRules.HourOf(now - options.Value.MaxLateness));
        if (windowStart >= windowEnd)
        {
            return 0;
        }

        // Hours that have no object yet (newly closed), and hours with records received since the last pass (late ones).
        var hours = new SortedSet<DateTimeOffset>();
        for (var hour = Max(windowStart, copy.LastHourPlanned?.AddHours(1) ?? windowStart); hour < windowEnd; hour = hour.AddHours(1))
        {
            hours.Add(hour);
        }

        var watermark = copy.ReceivedWatermark == default ? DateTimeOffset.MinValue : copy.ReceivedWatermark - WatermarkOverlap;
        var lateHours = await db.StagedRecords
            .Where(r => r.AreaId == copy.AreaId && r.ReceivedAt > watermark && r.RequestTime >= windowStart && r.RequestTime < windowEnd)
            .Select(r => r.RequestTime).ToListAsync(cancellationToken);
        foreach (var time in lateHours)
        {
            hours.Add(ExportRules.HourOf(time));
        }

        var periods = await db.EnabledPeriods.AsNoTracking().Where(p => p.ProfileId == profileId).ToListAsync(cancellationToken);
        var (bucket, prefix) = ExportRules.Bucket(profile.S3Bucket);
        var created = 0;
        foreach (var hour in hours)
        {
            var candidates = await db.StagedRecords.AsNoTracking()
                .Where(r => r.AreaId == copy.AreaId && r.RequestTime >= hour && r.RequestTime < hour.AddHours(1)
                    && r.RequestTime >= profile.CollectFrom && (profile.CollectUntil == null || r.RequestTime < profile.CollectUntil)
                    && !db.Assignments.Any(a => a.ProfileId == profileId && a.RequestUuid == r.RequestUuid))
                .Select(r => new { r.RequestUuid, r.RequestTime, r.Record })
                .ToListAsync(cancellationToken);
            var chosen = candidates
                .Where(c => periods.Any(p => c.RequestTime >= p.From && (p.Until == null || c.RequestTime < p.Until)))
                .Where(c => ExportRules.Matches(profile.Filters, JsonSerializer.Deserialize<CallRecord>(c.Record, ProfileCopies.Json)!))
                .Select(c => c.RequestUuid)
                .ToList();
            var first = !await db.Objects.AnyAsync(o => o.ProfileId == profileId && o.HourStart == hour, cancellationToken);
            if (chosen.Count == 0 && !first)
            {
                continue;
            }

            var extraction = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond));
            var exportObject = new ExportObject
            {
                ProfileId = profileId,
                HourStart = hour,
                ExtractionTime = extraction,
                Bucket = bucket,
                Key = ExportRules.ObjectKey(prefix, copy.AreaId, profileId, hour, extraction),
                RecordCount = chosen.Count,
                CreatedAt = now,
            };
            db.Objects.Add(exportObject);
            await db.SaveChangesAsync(cancellationToken);
            await AssignAsync(profileId, exportObject.Id, chosen, cancellationToken);
            created++;
        }

        copy.LastHourPlanned = Max(copy.LastHourPlanned ?? DateTimeOffset.MinValue, ExportRules.HourOf(windowEnd.AddTicks(-1)));
        copy.ReceivedWatermark = now;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return created;
    }

    private async Task AssignAsync(Guid profileId, long objectId, List<string> uuids, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await using var copy = await connection.BeginBinaryImportAsync("COPY assignments (profile_id, request_uuid, object_id) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var uuid in uuids)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(profileId, NpgsqlDbType.Uuid, cancellationToken);
            await copy.WriteAsync(uuid, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(objectId, NpgsqlDbType.Bigint, cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
