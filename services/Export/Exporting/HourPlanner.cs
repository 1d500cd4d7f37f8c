using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Export.Consumers;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Decides, for each profile, which objects to write: for every closed hour (ended plus grace) a first object, and a
/// further object when records of an already planned hour were staged since. An object is cut by staging numbers:
/// the first of an hour takes everything staged up to the pass's safe high mark, each further one what came after the
/// previous one's end, so the objects of an hour never share a record and never skip one. The profile row is
/// locked while it is planned, so two instances never plan the same profile at once.
/// </summary>
public sealed class HourPlanner(ExportDbContext db, IOptions<ExportOptions> options, TimeProvider clock)
{
    /// <param name="high">Every record staged up to this number is visible (<see cref="StagingSequence.SafeHighAsync"/>).</param>
    public async Task<int> PlanAsync(Guid profileId, long high, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var copy = await db.Profiles.FromSql($"SELECT * FROM profiles WHERE id = {profileId} FOR UPDATE SKIP LOCKED").ToListAsync(cancellationToken) is [var locked] ? locked : null;
        if (copy is null || copy.Deleted)
        {
            return 0;
        }

        var profile = JsonSerializer.Deserialize<ExportProfileSnapshot>(copy.Snapshot, ProfileCopies.Json)!;
        var closedUntil = ExportRules.HourOf(now - options.Value.GracePeriod);
        var windowEnd = profile.CollectUntil is { } until && until < closedUntil ? until : closedUntil;
        var created = 0;
        if (profile.CollectFrom < windowEnd)
        {
            created += PlanNewHours(copy, profile, windowEnd, high, now);
            created += await PlanLateRecordsAsync(copy, profile, high, now, cancellationToken);
            copy.LastHourPlanned = Max(copy.LastHourPlanned ?? DateTimeOffset.MinValue, ExportRules.HourOf(windowEnd.AddTicks(-1)));
        }

        // Whatever of an unplanned hour is staged now is in its first object later, whose range starts at zero.
        copy.PlannedThroughSeq = Math.Max(copy.PlannedThroughSeq, high);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return created;
    }

    /// <summary>A first object, with every record staged so far, for each hour that closed since the last pass.</summary>
    private int PlanNewHours(ProfileCopy copy, ExportProfileSnapshot profile, DateTimeOffset windowEnd, long high, DateTimeOffset now)
    {
        var first = Max(profile.CollectFrom, ExportRules.HourOf(now - options.Value.MaxLateness));
        var created = 0;
        for (var hour = Max(first, copy.LastHourPlanned?.AddHours(1) ?? first); hour < windowEnd; hour = hour.AddHours(1))
        {
            Add(copy, profile, hour, 0, high, Second(now));
            created++;
        }

        return created;
    }

    /// <summary>A further object for each planned hour that has matching records staged since its last object.</summary>
    private async Task<int> PlanLateRecordsAsync(ProfileCopy copy, ExportProfileSnapshot profile, long high, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (copy.LastHourPlanned is not { } last || copy.PlannedThroughSeq >= high)
        {
            return 0;
        }

        var hours = await db.Database.SqlQuery<DateTimeOffset>($"""
            SELECT DISTINCT date_trunc('hour', request_time, 'UTC') AS "Value" FROM staged_records
            WHERE area_id = {copy.AreaId} AND seq > {copy.PlannedThroughSeq} AND seq <= {high}
              AND request_time >= {profile.CollectFrom} AND request_time < {last.AddHours(1)}
            """).ToListAsync(cancellationToken);
        var created = 0;
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        foreach (var hour in hours.Order())
        {
            var previous = await db.Objects.Where(o => o.ProfileId == copy.Id && o.HourStart == hour)
                .GroupBy(o => o.HourStart).Select(g => new { SeqTo = g.Max(o => o.SeqTo), Extraction = g.Max(o => o.ExtractionTime) })
                .FirstOrDefaultAsync(cancellationToken);
            var from = previous?.SeqTo ?? 0;
            await using var any = ObjectRecords.Command(connection, "SELECT EXISTS (SELECT 1 FROM staged_records s WHERE {0})", copy.AreaId, profile, hour, from, high);
            if (from < high && (bool)(await any.ExecuteScalarAsync(cancellationToken))!)
            {
                // A new extraction time gives a new key, even when the hour's previous object was planned in the same second.
                var extraction = previous is null ? Second(now) : Max(Second(now), previous.Extraction.AddSeconds(1));
                Add(copy, profile, hour, from, high, extraction);
                created++;
            }
        }

        return created;
    }

    private void Add(ProfileCopy copy, ExportProfileSnapshot profile, DateTimeOffset hour, long seqFrom, long seqTo, DateTimeOffset extraction)
    {
        var (bucket, prefix) = ExportRules.Bucket(profile.S3Bucket);
        db.Objects.Add(new ExportObject
        {
            ProfileId = copy.Id,
            HourStart = hour,
            ExtractionTime = extraction,
            Bucket = bucket,
            Key = ExportRules.ObjectKey(prefix, copy.AreaId, copy.Id, hour, extraction),
            SeqFrom = seqFrom,
            SeqTo = seqTo,
            CreatedAt = clock.GetUtcNow(),
        });
    }

    private static DateTimeOffset Second(DateTimeOffset time) => time.AddTicks(-(time.Ticks % TimeSpan.TicksPerSecond));

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
