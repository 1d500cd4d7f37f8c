using CallLogs.Contracts;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.Telephony.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace CallLogs.Telephony.Data;

/// <param name="CelRows">CEL rows read (batch) or taken in (real time).</param>
/// <param name="Created">Call logs written.</param>
/// <param name="Replaced">Call logs that existed for the same calls and were replaced.</param>
/// <param name="Failed">Calls whose rows could not be interpreted (logged; they get no call log).</param>
public sealed record GenerationResult(int CelRows, int Created, int Replaced, int Failed)
{
    public static readonly GenerationResult None = new(0, 0, 0, 0);

    public GenerationResult Add(GenerationResult other) =>
        new(CelRows + other.CelRows, Created + other.Created, Replaced + other.Replaced, Failed + other.Failed);
}

/// <param name="Accepted">New rows stored.</param>
/// <param name="Duplicates">Rows already stored (same id), ignored.</param>
public sealed record IntakeResult(int Accepted, int Duplicates, GenerationResult Generated);

/// <summary>
/// Turns stored CEL rows into call logs and keeps both consistent: the call logs the rows had before are deleted and
/// the new ones written, with their <see cref="CallLogsCreated"/> event (outbox), in one transaction under the area's
/// write lock, so generating the same rows twice, or from two instances at once, gives the same call logs.
/// </summary>
public sealed partial class TelephonyGeneration(TelephonyDbContext db, IServiceScopeFactory scopes, TimeProvider clock, ILogger<TelephonyGeneration> logger)
{
    private static readonly System.Diagnostics.Metrics.Counter<long> CreatedCounter =
        Telemetry.Meter.CreateCounter<long>("calllogs.telephony.call_logs_created", description: "Telephony call logs written");

    /// <summary>Calls are written this many at a time, each chunk in its own transaction, with progress reported after each.</summary>
    public const int CallsPerChunk = 1_000;

    /// <summary>
    /// Real time: stores new rows (a resent row id is ignored) and, with <paramref name="generate"/>, writes the call
    /// log of every call this batch ended. The calls are generated before the rows are stored, so the rows go in once,
    /// already linked to their call log.
    /// </summary>
    public async Task<IntakeResult> IntakeAsync(Guid areaId, IReadOnlyList<CelRow> rows, bool generate, CancellationToken ct)
    {
        await using var transaction = await BeginWritingAsync(areaId, ct);
        var seen = (await StoredIdsAsync(areaId, rows, ct)).ToHashSet();
        var fresh = rows.Where(r => seen.Add(r.Id)).ToList();

        var result = GenerationResult.None;
        var ended = generate ? fresh.Where(r => r.EventType == CelEventTypes.LinkedIdEnd).Select(r => r.LinkedId).ToHashSet() : [];
        if (ended.Count > 0)
        {
            // The directory and the call log ids need neither this transaction nor its lock: they are read on connections
            // of their own meanwhile. A call ends with at least one of the linkedids this batch ends, so there are no
            // more ended calls than those; a call that ends several leaves gaps in the ids, as a rolled back insert does.
            var stored = StoredRowsOfCallsAsync(areaId, ended, fresh, ct);
            var directory = AsideAsync(context => ReadDirectoryAsync(context, areaId, ct));
            var ids = AsideAsync(context => ReserveIdsAsync(context, ended.Count, ct));
            await Task.WhenAll(stored, directory, ids);
            result = await WriteAsync(areaId, await stored, fresh, await directory, await ids, ct);
        }
        else
        {
            await BulkCopy.CopyAsync(db, fresh, AreaColumn(areaId), ct);
        }

        await transaction.CommitAsync(ct);
        CreatedCounter.Add(result.Created);
        return new IntakeResult(fresh.Count, rows.Count - fresh.Count, result with { CelRows = fresh.Count });
    }

    /// <summary>
    /// The ids of <paramref name="rows"/> already stored, possibly with other stored ids. A PBX numbers its rows in
    /// sequence, so a batch's ids are usually dense: one range scan of the key then costs less than a probe per id.
    /// </summary>
    private async Task<List<long>> StoredIdsAsync(Guid areaId, IReadOnlyList<CelRow> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return [];
        }

        var (low, high) = (rows.Min(r => r.Id), rows.Max(r => r.Id));
        if (high - low < 4L * rows.Count)
        {
            return await db.CelsOf(areaId).Where(c => c.Id >= low && c.Id <= high).Select(c => c.Id).ToListAsync(ct);
        }

        var ids = rows.Select(r => r.Id).ToArray();
        return await db.CelsOf(areaId).Where(c => ids.Contains(c.Id)).Select(c => c.Id).ToListAsync(ct);
    }

    /// <summary>Batch: the calls of the N newest unprocessed rows (wazo-call-logd's default N is 20,000).</summary>
    public async Task<GenerationResult> FromCountAsync(Guid areaId, int celCount, CancellationToken ct, Func<long, long, Task>? progress = null)
    {
        var uniqueIds = await db.CelsOf(areaId)
            .Where(c => c.CallLogId == null && c.ChanName != CelSelection.ChatChannel)
            .OrderByDescending(c => c.EventTime).ThenByDescending(c => c.Id)
            .Take(celCount).Select(c => c.UniqueId).Distinct().ToListAsync(ct);
        return await FromUniqueIdsAsync(areaId, uniqueIds, ct, progress);
    }

    /// <summary>Batch: the calls of the unprocessed rows of the last D days.</summary>
    public async Task<GenerationResult> FromDaysAsync(Guid areaId, int days, CancellationToken ct, Func<long, long, Task>? progress = null)
    {
        var since = clock.GetUtcNow().AddDays(-days);
        var uniqueIds = await db.CelsOf(areaId)
            .Where(c => c.CallLogId == null && c.ChanName != CelSelection.ChatChannel && c.EventTime >= since)
            .Select(c => c.UniqueId).Distinct().ToListAsync(ct);
        return await FromUniqueIdsAsync(areaId, uniqueIds, ct, progress);
    }

    private async Task<GenerationResult> FromUniqueIdsAsync(Guid areaId, List<string> uniqueIds, CancellationToken ct, Func<long, long, Task>? progress)
    {
        if (uniqueIds.Count == 0)
        {
            return GenerationResult.None;
        }

        // whole calls: every row of every linkedid a selected channel took part in
        List<CelRow> rows;
        await using (await BeginAsync(ct))
        {
            var linkedIds = await db.CelsOf(areaId).Where(c => uniqueIds.Contains(c.UniqueId)).Select(c => c.LinkedId).Distinct().ToListAsync(ct);
            rows = await db.CelsOf(areaId).AsNoTracking().Where(c => linkedIds.Contains(c.LinkedId)).ToListAsync(ct);
        }

        // Whole calls (linkedids merged by shared channels) never straddle two chunks, so chunking changes no call log.
        var calls = CallLogGenerator.GroupBySharedChannels(rows).Select(g => g.Cels).ToList();
        var result = new GenerationResult(rows.Count, 0, 0, 0);
        var directory = await ReadDirectoryAsync(db, areaId, ct);
        if (progress is not null)
        {
            await progress(0, calls.Count);
        }

        var done = 0;
        foreach (var chunk in calls.Chunk(CallsPerChunk))
        {
            var chunkRows = chunk.SelectMany(call => call).ToList();
            await using var transaction = await BeginWritingAsync(areaId, ct);
            // what the rows point at now: another writer may have generated some of these calls since they were read
            var chunkIds = chunkRows.Select(r => r.Id).ToArray();
            var current = await db.CelsOf(areaId).Where(c => chunkIds.Contains(c.Id)).Select(c => new { c.Id, c.CallLogId }).ToDictionaryAsync(c => c.Id, c => c.CallLogId, ct);
            var stored = chunkRows.Where(r => current.ContainsKey(r.Id)).Select(r => r with { CallLogId = current[r.Id] }).ToList();

            var written = await WriteAsync(areaId, stored, [], directory, null, ct);
            await transaction.CommitAsync(ct);
            CreatedCounter.Add(written.Created);
            result = result.Add(written);
            done += chunk.Length;
            if (progress is not null)
            {
                await progress(done, calls.Count);
            }
        }

        return result;
    }

    /// <summary>
    /// A transaction whose queries are planned for any area rather than for this area's statistics. Until ANALYZE has
    /// seen an area's rows (a new area, or one that grew since), a plan made for "an area of almost no rows" reads all
    /// of the area's rows for each lookup by linkedid or uniqueid, so every intake request gets slower as the area
    /// grows; the generic plan uses the (area, linkedid) and (area, uniqueid) indexes whatever the statistics say.
    /// </summary>
    private async Task<IDbContextTransaction> BeginAsync(CancellationToken ct)
    {
        var transaction = await db.Database.BeginTransactionAsync(ct);
        await db.Database.ExecuteSqlRawAsync(GenericPlans, ct);
        return transaction;
    }

    private const string GenericPlans = "SET LOCAL plan_cache_mode = force_generic_plan";

    /// <summary><see cref="BeginAsync"/> holding the area's write lock (<see cref="AreaLocks"/>), in one round trip.</summary>
    private Task<IDbContextTransaction> BeginWritingAsync(Guid areaId, CancellationToken ct) => AreaLocks.BeginWritingAsync(db, areaId, GenericPlans, ct);

    /// <summary>
    /// The stored rows of the calls that <paramref name="endedLinkedIds"/> end: every row of those linkedids and of the
    /// linkedids that share a channel with them (a pickup, a transfer), in the database or in this batch. A channel whose
    /// CHAN_START is in this batch has no row stored before it (a PBX writes a channel's rows after its start, and a
    /// linkedid is the uniqueid of the channel that began the call), so neither it nor a linkedid it began is looked
    /// up: a call that starts and ends in one batch, the usual case, costs no query here. Like the rest of the real-time
    /// path (a row sent after its call's LINKEDID_END waits for a regeneration) this takes rows in the order the PBX wrote
    /// them.
    /// </summary>
    private async Task<List<CelRow>> StoredRowsOfCallsAsync(Guid areaId, HashSet<string> endedLinkedIds, List<CelRow> fresh, CancellationToken ct)
    {
        var started = fresh.Where(r => r.EventType == CelEventTypes.ChanStart).Select(r => r.UniqueId).ToHashSet();
        var allEnded = endedLinkedIds.ToArray();
        var ended = allEnded.Where(l => !started.Contains(l)).ToArray();
        var stored = ended.Length == 0 ? [] : await db.CelsOf(areaId).AsNoTracking().Where(c => ended.Contains(c.LinkedId)).ToListAsync(ct);

        // The linkedids their channels (stored or new) also took part in; usually none.
        var channels = stored.Select(r => r.UniqueId).Concat(fresh.Where(r => endedLinkedIds.Contains(r.LinkedId)).Select(r => r.UniqueId)).ToHashSet();
        var channelIds = channels.Where(c => !started.Contains(c)).ToArray();
        var storedOthers = channelIds.Length == 0 ? [] : await db.CelsOf(areaId)
            .Where(c => channelIds.Contains(c.UniqueId) && !allEnded.Contains(c.LinkedId)).Select(c => c.LinkedId).Distinct().ToListAsync(ct);
        var others = storedOthers
            .Concat(fresh.Where(r => channels.Contains(r.UniqueId) && !endedLinkedIds.Contains(r.LinkedId)).Select(r => r.LinkedId))
            .Where(l => !started.Contains(l)).Distinct().ToArray();
        if (others.Length > 0)
        {
            stored.AddRange(await db.CelsOf(areaId).AsNoTracking().Where(c => others.Contains(c.LinkedId)).ToListAsync(ct));
        }

        return stored;
    }

    /// <summary>A read on a context (and connection) of its own, outside the current transaction.</summary>
    private async Task<T> AsideAsync<T>(Func<TelephonyDbContext, Task<T>> read)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await read(scope.ServiceProvider.GetRequiredService<TelephonyDbContext>());
    }

    /// <summary>
    /// Takes <paramref name="count"/> call log ids from the table's sequence. A sequence is outside transactions: an id
    /// taken and not used is a gap, as after a rolled back insert.
    /// </summary>
    private static Task<List<long>> ReserveIdsAsync(TelephonyDbContext context, int count, CancellationToken ct) =>
        context.Database.SqlQuery<long>(
            $"SELECT nextval(s.id) AS \"Value\" FROM (SELECT pg_get_serial_sequence('call_log', 'id')::regclass AS id) s, generate_series(1, {count})").ToListAsync(ct);

    private static async Task<TelephonyDirectory> ReadDirectoryAsync(TelephonyDbContext context, Guid areaId, CancellationToken ct)
    {
        var users = await context.Users.AsNoTracking().Where(u => u.AreaId == areaId).ToListAsync(ct);
        var voicemails = await context.Voicemails.AsNoTracking().Where(v => v.AreaId == areaId).ToListAsync(ct);
        return new TelephonyDirectory(
            users.Select(u => new DirectoryUser { Uuid = u.Uuid, Name = u.Name, UserField = u.UserField, Lines = u.Lines }),
            voicemails.Select(v => new DirectoryVoicemail(v.Id, v.Name, v.Number, v.Context)));
    }

    /// <summary>
    /// Generates the calls of <paramref name="stored"/> and <paramref name="fresh"/> rows and writes them in the current
    /// transaction: the fresh rows are COPYed, each already pointing at its call log; the call logs the stored rows had
    /// are deleted and the new ones COPYed with ids taken from the sequence; the stored rows are pointed at them; and one
    /// <see cref="CallLogsCreated"/> goes into the outbox. Each call is generated while the COPY of the rows before it
    /// is on its way, so PostgreSQL stores rows while this process interprets the next call.
    /// </summary>
    /// <param name="ids">Call log ids taken for the ended calls already, if any; those missing are taken here.</param>
    private async Task<GenerationResult> WriteAsync(Guid areaId, List<CelRow> stored, List<CelRow> fresh, TelephonyDirectory directory, List<long>? ids, CancellationToken ct)
    {
        var calls = CallLogGenerator.GroupBySharedChannels(stored.Concat(fresh))
            .Select(c => (c.LinkedIds, c.Cels, Ended: CallLogGenerator.HasEnded(c.LinkedIds, c.Cels))).ToList();
        var ended = calls.Count(c => c.Ended);
        // one id per ended call; a call that gives no call log leaves a gap in the sequence, as a rolled back insert does
        ids ??= [];
        if (ids.Count < ended)
        {
            ids.AddRange(await ReserveIdsAsync(db, ended - ids.Count, ct));
        }

        var generated = new Generated();
        var freshIds = fresh.Select(r => r.Id).ToHashSet();
        var linked = GenerateAndLink(areaId, calls, directory, ids, freshIds, generated);
        if (fresh.Count > 0)
        {
            await BulkCopy.CopyAsync(db, linked, AreaColumn(areaId), ct);
        }
        else
        {
            // a batch run: every row is stored already, so the calls are generated without a COPY
            foreach (var _ in linked)
            {
            }
        }

        var previous = stored.Where(r => r.CallLogId is not null && generated.ByCel.ContainsKey(r.Id)).Select(r => r.CallLogId!.Value).Distinct().ToArray();
        var replaced = 0;
        if (previous.Length > 0)
        {
            await db.CelsOf(areaId).Where(c => c.CallLogId != null && previous.Contains(c.CallLogId.Value)).ExecuteUpdateAsync(u => u.SetProperty(c => c.CallLogId, (long?)null), ct);
            replaced = await db.CallLogs.Where(c => c.AreaId == areaId && previous.Contains(c.Id)).ExecuteDeleteAsync(ct);
        }

        if (generated.Logs.Count == 0)
        {
            return new GenerationResult(0, 0, replaced, generated.Failures);
        }

        await BulkCopy.CopyAsync(db, generated.Logs, (log, _) => log.Participants.Select(p => p.UserUuid).Distinct().ToArray(), ct);

        var relink = stored.Where(r => generated.ByCel.TryGetValue(r.Id, out var log) && r.CallLogId != log).ToList();
        if (relink.Count > 0)
        {
            await db.Database.ExecuteSqlAsync(
                $"""
                UPDATE cel c SET call_log_id = l.call_log_id FROM unnest({relink.Select(r => r.Id).ToArray()}, {relink.Select(r => generated.ByCel[r.Id]).ToArray()}) AS l(cel_id, call_log_id)
                WHERE c.area_id = {areaId} AND c.id = l.cel_id
                """, ct);
        }

        db.AddOutboxMessage(await generated.Event!, clock);
        // A failed save fails the whole transaction: the savepoint EF would set around it costs two round trips for nothing.
        db.Database.AutoSavepointsEnabled = false;
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return new GenerationResult(0, generated.Logs.Count, replaced, generated.Failures);
    }

    /// <summary>The shadow column of a CEL row: its area, boxed once rather than once per row.</summary>
    private static Func<CelRow, string, object?> AreaColumn(Guid areaId)
    {
        object area = areaId;
        return (_, _) => area;
    }

    /// <summary>The call logs made so far, and which call log each row of them belongs to.</summary>
    private sealed class Generated
    {
        public List<TelephonyCallLog> Logs { get; } = [];
        public Dictionary<long, long> ByCel { get; } = [];
        public int Failures { get; set; }

        /// <summary>The <see cref="CallLogsCreated"/> of <see cref="Logs"/>, serialised once every call is generated.</summary>
        public Task<OutboxBody<CallLogsCreated>>? Event { get; set; }
    }

    /// <summary>
    /// Generates call after call into <paramref name="generated"/>, yielding the fresh rows of each, pointed at its call
    /// log when it made one, as soon as it is done. Ended calls take their ids in order from <paramref name="ids"/>.
    /// </summary>
    private IEnumerable<CelRow> GenerateAndLink(Guid areaId, List<(HashSet<string> LinkedIds, List<CelRow> Cels, bool Ended)> calls,
        TelephonyDirectory directory, List<long> ids, HashSet<long> freshIds, Generated generated)
    {
        var next = 0;
        foreach (var (linkedIds, cels, ended) in calls)
        {
            long? link = null;
            if (ended)
            {
                var id = ids[next++];
                var outcome = CallLogGenerator.GenerateEnded(linkedIds, cels, directory);
                if (outcome.Call is { } call)
                {
                    link = id;
                    generated.Logs.Add(call.CallLog with { Id = id, AreaId = areaId });
                    foreach (var celId in call.CelIds)
                    {
                        generated.ByCel[celId] = id;
                    }
                }
                else if (outcome.Failure is { } failure)
                {
                    generated.Failures++;
                    LogInterpretationFailed(logger, areaId, failure.ConversationId, failure.Reason);
                }
            }

            foreach (var row in cels.Where(r => freshIds.Contains(r.Id)))
            {
                if (link is not null)
                {
                    row.CallLogId = link;
                }

                yield return row;
            }
        }

        // The last rows are on their way: the event (600 KB for 500 call logs) is serialised on another thread while
        // PostgreSQL stores them, rather than after the call logs' COPY.
        if (generated.Logs.Count > 0)
        {
            generated.Event = Task.Run(() => OutboxBody<CallLogsCreated>.Of(new CallLogsCreated { AreaId = areaId, CallLogs = generated.Logs }));
        }
    }

    /// <summary>
    /// Deletes the call logs started in the last D days (all when null), 10,000 at a time; their rows become unprocessed,
    /// so the next generation makes them again (wazo-call-logd's "delete, then generate" regeneration).
    /// </summary>
    public async Task<int> DeleteAsync(Guid areaId, int? days, CancellationToken ct, Func<long, long, Task>? progress = null)
    {
        var query = db.CallLogs.Where(c => c.AreaId == areaId);
        if (days is { } d)
        {
            var since = clock.GetUtcNow().AddDays(-d);
            query = query.Where(c => c.Start >= since);
        }

        var total = await query.CountAsync(ct);
        var deleted = 0;
        while (true)
        {
            if (progress is not null)
            {
                await progress(deleted, total);
            }

            var batch = await query.OrderBy(c => c.Id).Select(c => c.Id).Take(10_000).ToArrayAsync(ct);
            if (batch.Length == 0)
            {
                return deleted;
            }

            await using var transaction = await BeginWritingAsync(areaId, ct);
            await db.CelsOf(areaId).Where(c => c.CallLogId != null && batch.Contains(c.CallLogId.Value)).ExecuteUpdateAsync(u => u.SetProperty(c => c.CallLogId, (long?)null), ct);
            deleted += await db.CallLogs.Where(c => c.AreaId == areaId && batch.Contains(c.Id)).ExecuteDeleteAsync(ct);
            await transaction.CommitAsync(ct);
        }
    }

    /// <summary>
    /// Retention: deletes the call logs started before the area's retention together with the CEL rows they were made
    /// from (so no later run makes them again), then the CEL rows older than the retention that made no call log.
    /// </summary>
    public async Task<(int CallLogs, int CelRows)> PurgeAsync(Guid areaId, int retentionDays, CancellationToken ct)
    {
        var before = clock.GetUtcNow().AddDays(-retentionDays);
        var (logs, rows) = (0, 0);
        while (true)
        {
            var batch = await db.CallLogs.Where(c => c.AreaId == areaId && c.Start < before).OrderBy(c => c.Id).Select(c => c.Id).Take(10_000).ToArrayAsync(ct);
            if (batch.Length == 0)
            {
                break;
            }

            await using var transaction = await BeginWritingAsync(areaId, ct);
            rows += await db.CelsOf(areaId).Where(c => c.CallLogId != null && batch.Contains(c.CallLogId.Value)).ExecuteDeleteAsync(ct);
            logs += await db.CallLogs.Where(c => c.AreaId == areaId && batch.Contains(c.Id)).ExecuteDeleteAsync(ct);
            await transaction.CommitAsync(ct);
        }

        while (true)
        {
            // under the write lock, so an intake that is making a call log of these rows right now is waited for
            await using var transaction = await BeginWritingAsync(areaId, ct);
            var unprocessed = await db.CelsOf(areaId).Where(c => c.EventTime < before && c.CallLogId == null).Select(c => c.Id).Take(10_000).ToArrayAsync(ct);
            if (unprocessed.Length == 0)
            {
                return (logs, rows);
            }

            rows += await db.CelsOf(areaId).Where(c => unprocessed.Contains(c.Id)).ExecuteDeleteAsync(ct);
            await transaction.CommitAsync(ct);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Area {AreaId}: call {ConversationId} could not be interpreted: {Reason}")]
    private static partial void LogInterpretationFailed(ILogger logger, Guid areaId, string conversationId, string reason);
}
