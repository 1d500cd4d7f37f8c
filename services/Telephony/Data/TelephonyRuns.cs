using CallLogs.Telephony.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Telephony.Data;

/// <summary>What a batch generation reads: the N newest unprocessed CEL rows, or the unprocessed rows of the last D days.</summary>
public sealed record GenerationSelection(int? CelCount, int? Days)
{
    public static GenerationSelection Default => new(TelephonyOptions.DefaultCelCount, null);
}

/// <summary>
/// The long telephony runs (regeneration, deletion, purge), from the API, the command line or the nightly job: each
/// holds its area's run lock for its whole length (a second run of the area is refused, on any instance) and is
/// recorded as an operation with its progress. Null means another run of the area holds the lock.
/// </summary>
public sealed class TelephonyRuns(AreaLocks locks, TelephonyGeneration generation, TelephonyOperations operations, TelephonyDbContext db,
    IOptions<TelephonyOptions> options)
{
    public async Task<(Guid OperationId, GenerationResult Result)?> GenerateAsync(Guid areaId, GenerationSelection selection, string startedBy,
        CancellationToken ct, Func<long, long, Task>? report = null)
    {
        await using var held = await locks.TryRunAsync(areaId, ct);
        if (held is null)
        {
            return null;
        }

        return await operations.RunAsync(areaId, "telephony-generate", "calls", startedBy, progress => selection.Days is { } days
                ? generation.FromDaysAsync(areaId, days, ct, Both(progress, report))
                : generation.FromCountAsync(areaId, selection.CelCount ?? TelephonyOptions.DefaultCelCount, ct, Both(progress, report)),
            TelephonyOperations.Describe, ct);
    }

    /// <param name="days">The call logs started in the last D days; null: all of them.</param>
    public async Task<(Guid OperationId, int Deleted)?> DeleteAsync(Guid areaId, int? days, string startedBy, CancellationToken ct,
        Func<long, long, Task>? report = null)
    {
        await using var held = await locks.TryRunAsync(areaId, ct);
        if (held is null)
        {
            return null;
        }

        return await operations.RunAsync(areaId, "telephony-delete", "call logs", startedBy,
            progress => generation.DeleteAsync(areaId, days, ct, Both(progress, report)), n => $"Deleted {n} call logs", ct);
    }

    /// <summary>Removes what is older than the area's retention: call logs with their CEL rows.</summary>
    public async Task<(int CallLogs, int CelRows)?> PurgeAsync(Guid areaId, CancellationToken ct)
    {
        await using var held = await locks.TryRunAsync(areaId, ct);
        if (held is null)
        {
            return null;
        }

        var retention = await db.AreaSettings.Where(s => s.AreaId == areaId).Select(s => (int?)s.RetentionDays).FirstOrDefaultAsync(ct)
            ?? options.Value.DefaultRetentionDays;
        return await generation.PurgeAsync(areaId, retention, ct);
    }

    /// <summary>Every area that has CEL rows or call logs.</summary>
    public async Task<List<Guid>> AreasAsync(CancellationToken ct) =>
        (await db.Cels.Select(c => EF.Property<Guid>(c, TelephonyDbContext.AreaIdProperty)).Distinct().ToListAsync(ct))
        .Union(await db.CallLogs.Select(c => c.AreaId).Distinct().ToListAsync(ct)).ToList();

    private static Func<long, long, Task> Both(Func<long, long, Task> progress, Func<long, long, Task>? report) => async (done, total) =>
    {
        await progress(done, total);
        if (report is not null)
        {
            await report(done, total);
        }
    };
}
