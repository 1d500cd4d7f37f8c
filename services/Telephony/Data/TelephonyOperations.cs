using CallLogs.Contracts;
using CallLogs.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Telephony.Data;

/// <summary>A regeneration or purge of an area's call logs, from the API or the command line, with its progress.</summary>
public sealed class TelephonyOperation
{
    public Guid Id { get; set; }
    public Guid AreaId { get; set; }
    public required string Kind { get; set; }
    public required string StartedBy { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public required string State { get; set; }
    public long Done { get; set; }
    public long Total { get; set; }
    public required string Unit { get; set; }
    public string? Message { get; set; }
}

/// <summary>
/// Records long telephony operations while they run: a row when one starts, its progress after every chunk, its
/// outcome at the end. One still "running" that has not moved for <see cref="StaleAfter"/> was cut short (its process
/// died) and shows as interrupted.
/// </summary>
public sealed class TelephonyOperations(TelephonyDbContext db, TimeProvider clock)
{
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(5);

    public static string Describe(GenerationResult result) =>
        $"Generated {result.Created} call logs ({result.Replaced} replaced, {result.Failed} calls not interpretable) from {result.CelRows} CEL rows";

    /// <summary>Runs <paramref name="work"/>, which reports (done, total) as it goes, and records its outcome.</summary>
    public async Task<(Guid Id, T Result)> RunAsync<T>(Guid areaId, string kind, string unit, string startedBy,
        Func<Func<long, long, Task>, Task<T>> work, Func<T, string> describe, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var operation = new TelephonyOperation
        {
            Id = Guid.CreateVersion7(), AreaId = areaId, Kind = kind, Unit = unit, StartedBy = startedBy, StartedAt = now, UpdatedAt = now, State = "running",
        };
        db.Operations.Add(operation);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        try
        {
            var result = await work((done, total) =>
            {
                OperationProgress.Report(operation.Id, kind, done, total);
                return db.Operations.Where(o => o.Id == operation.Id)
                    .ExecuteUpdateAsync(u => u.SetProperty(o => o.Done, done).SetProperty(o => o.Total, total).SetProperty(o => o.UpdatedAt, clock.GetUtcNow()), ct);
            });
            await FinishAsync(operation.Id, "succeeded", describe(result));
            return (operation.Id, result);
        }
        catch (Exception ex)
        {
            await FinishAsync(operation.Id, "failed", ex.Message);
            throw;
        }
        finally
        {
            OperationProgress.Finish(operation.Id);
        }
    }

    private Task FinishAsync(Guid id, string state, string message)
    {
        var now = clock.GetUtcNow();
        return db.Operations.Where(o => o.Id == id).ExecuteUpdateAsync(u => u
            .SetProperty(o => o.State, state).SetProperty(o => o.Message, message).SetProperty(o => o.FinishedAt, now).SetProperty(o => o.UpdatedAt, now)
            .SetProperty(o => o.Done, o => state == "succeeded" ? o.Total : o.Done), CancellationToken.None);
    }

    /// <summary>Recent operations (of one area, or all), running ones first, then newest first.</summary>
    public async Task<List<OperationStatus>> ListAsync(Guid? areaId, int take, CancellationToken ct)
    {
        var stale = clock.GetUtcNow() - StaleAfter;
        var rows = await db.Operations.AsNoTracking().Where(o => areaId == null || o.AreaId == areaId)
            .OrderByDescending(o => o.State == "running").ThenByDescending(o => o.StartedAt).Take(take).ToListAsync(ct);
        return [.. rows.Select(o => ToStatus(o, stale))];
    }

    public async Task<OperationStatus?> FindAsync(Guid areaId, Guid id, CancellationToken ct) =>
        await db.Operations.AsNoTracking().FirstOrDefaultAsync(o => o.AreaId == areaId && o.Id == id, ct) is { } o ? ToStatus(o, clock.GetUtcNow() - StaleAfter) : null;

    private static OperationStatus ToStatus(TelephonyOperation o, DateTimeOffset stale) => new(o.Id, "telephony", o.Kind, o.AreaId, o.StartedBy, o.StartedAt, o.UpdatedAt,
        o.FinishedAt, o.State == "running" && o.UpdatedAt < stale ? "interrupted" : o.State, o.Done, o.Total, o.Unit, o.Message);
}
