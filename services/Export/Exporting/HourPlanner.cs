using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Export.Consumers;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Secrets;
using CallLogs.ServiceDefaults.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Decides, for each profile, which objects to write: for every closed hour (ended plus grace) in which the profile
/// was enabled a first object, and a further object when records of an already planned hour were staged since. An
/// object is cut by staging numbers: the first of an hour takes everything staged up to the safe high mark, each
/// further one what came after the previous one's end, so the objects of an hour never share a record and never
/// skip one. The profile row is locked while it is planned, so two instances never plan the same profile at once,
/// and the mark a profile was planned with only ever grows, so an instance that read an older mark than another
/// still cuts above everything the other has covered.
/// </summary>
public sealed partial class HourPlanner(ExportDbContext db, SecretSeal seal, IOptions<ExportOptions> options, TimeProvider clock, ILogger<HourPlanner> logger)
{
    private static readonly Counter<long> HoursLost = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.hours_lost_late", description: "Hours of a profile never exported because planning reached them only after the maximum lateness");

    /// <param name="high">Every record staged up to this number is visible (<see cref="StagingSequence.SafeHighAsync"/>).</param>
    /// <param name="stagedHours">Shared by the profiles planned in one pass, so the area's new records are read once, not once per profile.</param>
    public async Task<int> PlanAsync(Guid profileId, long high, StagedHours stagedHours, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var copy = await db.Profiles.FromSql($"SELECT * FROM profiles WHERE id = {profileId} FOR UPDATE SKIP LOCKED").ToListAsync(cancellationToken) is [var locked] ? locked : null;
        if (copy is null || copy.Deleted || copy.Snapshot is null)
        {
            return 0;
        }

        var profile = JsonSerializer.Deserialize<ExportProfileSnapshot>(copy.Snapshot, ProfileCopies.Json)!;
        high = Math.Max(high, copy.PlannedThroughSeq);
        var (bucket, prefix, error) = ExportRules.Destination(profile.S3Bucket);
        if (error is not null)
        {
            // Nothing is planned (so nothing can be written anywhere else); once the setting is fixed the hours are planned, within the lateness.
            if (copy.PlanningError is null)
            {
                LogBadDestination(logger, copy.Id, copy.AreaId, error);
            }

            copy.PlanningError = $"The S3 bucket setting cannot be written to: {error}";
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return 0;
        }

        copy.PlanningError = null;
        var areaName = await db.AreaNames.Where(a => a.AreaId == copy.AreaId).Select(a => a.Name).FirstOrDefaultAsync(cancellationToken) ?? profile.AreaName;
        var target = new Target(copy, profile, bucket, prefix, areaName);
        var closedUntil = ExportRules.HourOf(now - options.Value.GracePeriod);
        var windowEnd = profile.CollectUntil is { } until && until < closedUntil ? until : closedUntil;
        var created = 0;
        if (profile.CollectFrom < windowEnd)
        {
            created += await PlanNewHoursAsync(target, windowEnd, high, now, cancellationToken);
            created += await PlanLateRecordsAsync(target, high, now, stagedHours, cancellationToken);
            copy.LastHourPlanned = Max(copy.LastHourPlanned ?? DateTimeOffset.MinValue, ExportRules.HourOf(windowEnd.AddTicks(-1)));
        }

        // Whatever of an unplanned hour is staged now is in its first object later, whose range starts at zero.
        copy.PlannedThroughSeq = high;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return created;
    }

    private sealed record Target(ProfileCopy Copy, ExportProfileSnapshot Profile, string Bucket, string Prefix, string? AreaName);

    /// <summary>
    /// A first object, with every record staged so far, for each hour that closed since the last pass and in which
    /// the profile was enabled. Hours that are already past the maximum lateness (planning was down longer than
    /// that) can no longer be complete: they are counted and logged instead.
    /// </summary>
    private async Task<int> PlanNewHoursAsync(Target target, DateTimeOffset windowEnd, long high, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (copy, profile) = (target.Copy, target.Profile);
        var periods = await db.EnabledPeriods.AsNoTracking().Where(p => p.ProfileId == copy.Id).ToListAsync(cancellationToken);
        bool Enabled(DateTimeOffset hour) => periods.Any(p => p.From < hour.AddHours(1) && (p.Until is null || p.Until > hour));

        var next = Max(profile.CollectFrom, copy.LastHourPlanned?.AddHours(1) ?? profile.CollectFrom);
        var oldest = ExportRules.HourOf(now - options.Value.MaxLateness);
        var lost = 0;
        for (var hour = next; hour < oldest && hour < windowEnd; hour = hour.AddHours(1))
        {
            lost += Enabled(hour) ? 1 : 0;
        }

        if (lost > 0)
        {
            HoursLost.Add(lost);
            LogHoursLost(logger, lost, copy.Id, copy.AreaId, next, Min(oldest, windowEnd), options.Value.MaxLateness);
        }

        var created = 0;
        for (var hour = Max(next, oldest); hour < windowEnd; hour = hour.AddHours(1))
        {
            if (Enabled(hour))
            {
                Add(target, hour, 0, high, Second(now));
                created++;
            }
        }

        return created;
    }

    /// <summary>A further object for each planned hour that has matching records staged since its last object.</summary>
    private async Task<int> PlanLateRecordsAsync(Target target, long high, DateTimeOffset now, StagedHours stagedHours, CancellationToken cancellationToken)
    {
        var (copy, profile) = (target.Copy, target.Profile);
        if (copy.LastHourPlanned is not { } last || copy.PlannedThroughSeq >= high)
        {
            return 0;
        }

        var hours = await stagedHours.GetAsync(db, copy.AreaId, copy.PlannedThroughSeq, high, cancellationToken);
        var created = 0;
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        foreach (var hour in hours.Where(h => h.AddHours(1) > profile.CollectFrom && h <= last))
        {
            var previous = await db.Objects.Where(o => o.ProfileId == copy.Id && o.HourStart == hour)
                .GroupBy(o => o.HourStart).Select(g => new { SeqTo = g.Max(o => o.SeqTo), Extraction = g.Max(o => o.ExtractionTime) })
                .FirstOrDefaultAsync(cancellationToken);
            var from = previous?.SeqTo ?? 0;
            await using var any = ObjectRecords.Command(connection, "SELECT EXISTS (SELECT 1 FROM staged_records s WHERE {0})", copy.AreaId, profile, hour, from, high, seal);
            if (from < high && (bool)(await any.ExecuteScalarAsync(cancellationToken))!)
            {
                // A new extraction time gives a new key, even when the hour's previous object was planned in the same second.
                var extraction = previous is null ? Second(now) : Max(Second(now), previous.Extraction.AddSeconds(1));
                Add(target, hour, from, high, extraction);
                created++;
            }
        }

        return created;
    }

    private void Add(Target target, DateTimeOffset hour, long seqFrom, long seqTo, DateTimeOffset extraction)
    {
        var key = ExportRules.ObjectKey(target.Prefix, target.Copy.AreaId, target.AreaName, target.Copy.Id, hour, extraction);
        if (Encoding.UTF8.GetByteCount(key) > S3DestinationRules.MaxKeyBytes)
        {
            throw new InvalidOperationException($"The object key {key} is longer than S3 allows; the prefix rules should have made this impossible.");
        }

        var now = clock.GetUtcNow();
        db.Objects.Add(new ExportObject
        {
            ProfileId = target.Copy.Id,
            HourStart = hour,
            ExtractionTime = extraction,
            Bucket = target.Bucket,
            Key = key,
            SeqFrom = seqFrom,
            SeqTo = seqTo,
            CreatedAt = now,
            PendingSince = now,
        });
    }

    private static DateTimeOffset Second(DateTimeOffset time) => time.AddTicks(-(time.Ticks % TimeSpan.TicksPerSecond));

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Export profile {ProfileId} of area {AreaId} has an S3 bucket setting that cannot be written to; nothing is planned for it until it is changed: {Reason}")]
    private static partial void LogBadDestination(ILogger logger, Guid profileId, Guid areaId, string reason);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "{Hours} hours of export profile {ProfileId} (area {AreaId}) from {From} to {Until} are lost: planning reached them more than {MaxLateness} after they ended, when their records are no longer kept")]
    private static partial void LogHoursLost(ILogger logger, int hours, Guid profileId, Guid areaId, DateTimeOffset from, DateTimeOffset until, TimeSpan maxLateness);
}
