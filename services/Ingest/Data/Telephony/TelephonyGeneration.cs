using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Ingest.Domain.Telephony;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Ingest.Data.Telephony;

public sealed record GenerationResult(int CelRows, int Created, int Replaced, int Failed);

/// <summary>
/// Reads CEL rows, runs the pure generator and writes call logs: the call logs the rows already had are
/// deleted and the new ones written in one transaction, so generating the same rows twice gives the
/// same call logs. A CallLogCreated event is published for each call log written.
/// </summary>
public sealed partial class TelephonyGeneration(TelephonyDbContext db, IngestDbContext outbox, TimeProvider clock, ILogger<TelephonyGeneration> logger)
{
    private static readonly System.Diagnostics.Metrics.Counter<long> CreatedCounter =
        Telemetry.Meter.CreateCounter<long>("calllogs.telephony.call_logs_created", description: "Telephony call logs written");

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>Real time: the calls these linkedids belong to (every correlated linkedid included).</summary>
    public async Task<GenerationResult> ForLinkedIdsAsync(Guid areaId, IReadOnlyCollection<string> linkedIds, CancellationToken ct)
    {
        var uniqueIds = await db.Cels.Where(c => c.AreaId == areaId && linkedIds.Contains(c.LinkedId))
            .Select(c => c.UniqueId).Distinct().ToListAsync(ct);
        return await FromUniqueIdsAsync(areaId, uniqueIds, ct);
    }

    /// <summary>Batch: the calls of the N newest unprocessed rows (the reference's default N is 20,000).</summary>
    public async Task<GenerationResult> FromCountAsync(Guid areaId, int celCount, CancellationToken ct, Func<long, long, Task>? progress = null)
    {
        var uniqueIds = await db.Cels
            .Where(c => c.AreaId == areaId && c.CallLogId == null && c.ChanName != CelSelection.ChatChannel)
            .OrderByDescending(c => c.EventTime).ThenByDescending(c => c.Id)
            .Take(celCount).Select(c => c.UniqueId).Distinct().ToListAsync(ct);
        return await FromUniqueIdsAsync(areaId, uniqueIds, ct, progress);
    }

    /// <summary>Batch: the calls of the unprocessed rows of the last D days.</summary>
    public async Task<GenerationResult> FromDaysAsync(Guid areaId, int days, DateTimeOffset now, CancellationToken ct, Func<long, long, Task>? progress = null)
    {
        var since = now.AddDays(-days);
        var uniqueIds = await db.Cels
            .Where(c => c.AreaId == areaId && c.CallLogId == null && c.ChanName != CelSelection.ChatChannel && c.EventTime >= since)
            .Select(c => c.UniqueId).Distinct().ToListAsync(ct);
        return await FromUniqueIdsAsync(areaId, uniqueIds, ct, progress);
    }

    /// <summary>Calls are written this many at a time, each chunk in its own transaction, with progress reported after each.</summary>
    private const int CallsPerChunk = 1_000;

    private async Task<GenerationResult> FromUniqueIdsAsync(Guid areaId, List<string> uniqueIds, CancellationToken ct, Func<long, long, Task>? progress = null)
    {
        if (uniqueIds.Count == 0)
        {
            return new GenerationResult(0, 0, 0, 0);
        }
        // whole calls: every row of every linkedid a selected channel took part in
        var linkedIds = await db.Cels.Where(c => c.AreaId == areaId && uniqueIds.Contains(c.UniqueId))
            .Select(c => c.LinkedId).Distinct().ToListAsync(ct);
        var rows = await db.Cels.AsNoTracking().Where(c => c.AreaId == areaId && linkedIds.Contains(c.LinkedId)).ToListAsync(ct);
        var directory = await LoadDirectoryAsync(areaId, ct);

        // Whole calls (linkedids merged by shared channels) never straddle two chunks, so chunking changes no call log.
        var byId = rows.ToDictionary(r => r.Id);
        var calls = CallLogGenerator.GroupBySharedChannels(rows.Select(ToRow)).Select(g => g.Cels.Select(c => byId[c.Id]).ToList()).ToList();
        var (created, replaced, failed) = (0, 0, 0);
        if (progress is not null)
        {
            await progress(0, calls.Count);
        }

        foreach (var chunk in calls.Chunk(CallsPerChunk).Select((c, i) => (Rows: c.SelectMany(call => call).ToList(), Done: Math.Min(calls.Count, (i + 1) * CallsPerChunk))))
        {
            var logs = CallLogGenerator.Generate(chunk.Rows.Select(ToRow), directory, out var failures);
            foreach (var (conversation, reason) in failures)
            {
                LogInterpretationFailed(logger, areaId, conversation, reason);
            }

            var written = await WriteAsync(areaId, chunk.Rows, logs, ct);
            (created, replaced, failed) = (created + written.Count, replaced + written.Replaced, failed + failures.Count);
            if (progress is not null)
            {
                await progress(chunk.Done, calls.Count);
            }
        }

        return new GenerationResult(rows.Count, created, replaced, failed);
    }

    private async Task<(int Count, int Replaced)> WriteAsync(Guid areaId, List<CelEntity> rows, IReadOnlyList<GeneratedCallLog> logs, CancellationToken ct)
    {
        var generatedCelIds = logs.SelectMany(l => l.CelIds).ToHashSet();
        // the call logs these calls had before (only those whose rows are generated again)
        var previous = rows.Where(r => r.CallLogId is not null && generatedCelIds.Contains(r.Id)).Select(r => r.CallLogId!.Value).Distinct().ToList();

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var replaced = previous.Count == 0 ? 0 : await db.CallLogs.Where(c => c.AreaId == areaId && previous.Contains(c.Id)).ExecuteDeleteAsync(ct);
        var entities = logs.Select(l => ToEntity(areaId, l)).ToList();
        db.CallLogs.AddRange(entities);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();

        var links = entities.Zip(logs).SelectMany(p => p.Second.CelIds.Select(id => (CelId: id, CallLogId: p.First.Id))).ToList();
        if (links.Count > 0)
        {
            await db.Database.ExecuteSqlRawAsync(
                "UPDATE telephony_cel c SET call_log_id = l.call_log_id FROM unnest(@p0::bigint[], @p1::bigint[]) AS l(cel_id, call_log_id) " +
                "WHERE c.area_id = @p2 AND c.id = l.cel_id",
                [links.Select(l => l.CelId).ToArray(), links.Select(l => l.CallLogId).ToArray(), areaId], ct);
        }
        // CallLogCreated goes through the ingest outbox (IngestDbContext owns outbox_messages) in the same
        // transaction: call logs and their events are written together or not at all
        if (entities.Count > 0)
        {
            outbox.Database.SetDbConnection(db.Database.GetDbConnection());
            await outbox.Database.UseTransactionAsync(tx.GetDbTransaction(), ct);
            foreach (var e in entities)
            {
                outbox.AddOutboxMessage(new CallLogCreated
                {
                    CallLogId = e.Id,
                    AreaId = areaId,
                    StartedAt = e.Date,
                    AnsweredAt = e.DateAnswer,
                    EndedAt = e.DateEnd,
                    Direction = e.Direction,
                    SourceExtension = e.SourceExten,
                    DestinationExtension = e.DestinationExten,
                    Tags = e.Tags,
                    ConversationId = e.ConversationId,
                }, clock);
            }
            await outbox.SaveChangesAsync(ct);
            outbox.ChangeTracker.Clear();
            await outbox.Database.UseTransactionAsync(null, ct);
        }
        await tx.CommitAsync(ct);
        CreatedCounter.Add(entities.Count);
        return (entities.Count, replaced);
    }

    public async Task<TelephonyDirectory> LoadDirectoryAsync(Guid areaId, CancellationToken ct)
    {
        var users = await db.Users.AsNoTracking().Where(u => u.AreaId == areaId).ToListAsync(ct);
        var voicemails = await db.Voicemails.AsNoTracking().Where(v => v.AreaId == areaId).ToListAsync(ct);
        return new TelephonyDirectory(
            users.Select(u => new DirectoryUser
            {
                Uuid = u.Uuid,
                Name = u.Name,
                UserField = u.UserField,
                Lines = JsonSerializer.Deserialize<List<DirectoryLine>>(u.Lines, Json) ?? [],
            }),
            voicemails.Select(v => new DirectoryVoicemail(v.Id, v.Name, v.Number, v.Context)));
    }

    public static CelRow ToRow(CelEntity c) => new()
    {
        Id = c.Id, EventType = c.EventType, EventTime = c.EventTime, UserDefType = c.UserDefType, CidName = c.CidName,
        CidNum = c.CidNum, CidAni = c.CidAni, CidRdnis = c.CidRdnis, CidDnid = c.CidDnid, Exten = c.Exten, Context = c.Context,
        ChanName = c.ChanName, AppName = c.AppName, AppData = c.AppData, AmaFlags = c.AmaFlags, AccountCode = c.AccountCode,
        PeerAccount = c.PeerAccount, UniqueId = c.UniqueId, LinkedId = c.LinkedId, UserField = c.UserField, Peer = c.Peer, Extra = c.Extra,
    };

    private static TelephonyCallLog ToEntity(Guid areaId, GeneratedCallLog l) => new()
    {
        AreaId = areaId,
        ConversationId = l.ConversationId,
        Date = l.Date,
        DateAnswer = l.DateAnswer,
        DateEnd = l.DateEnd,
        SourceName = l.SourceName,
        SourceExten = l.SourceExten,
        SourceInternalName = l.SourceInternalName,
        SourceInternalExten = l.SourceInternalExten,
        SourceInternalContext = l.SourceInternalContext,
        SourceLineIdentity = l.SourceLineIdentity,
        SourceUserUuid = l.SourceUserUuid,
        RequestedName = l.RequestedName,
        RequestedExten = l.RequestedExten,
        RequestedContext = l.RequestedContext,
        RequestedInternalExten = l.RequestedInternalExten,
        RequestedInternalContext = l.RequestedInternalContext,
        DestinationName = l.DestinationName,
        DestinationExten = l.DestinationExten,
        DestinationInternalExten = l.DestinationInternalExten,
        DestinationInternalContext = l.DestinationInternalContext,
        DestinationLineIdentity = l.DestinationLineIdentity,
        DestinationUserUuid = l.DestinationUserUuid,
        UserField = l.UserField,
        Direction = l.Direction,
        Blocked = l.Blocked,
        ReachedVoicemail = l.ReachedVoicemail,
        Tags = l.Tags.ToList(),
        UserUuids = l.UserUuids.ToList(),
        Participants = JsonSerializer.Serialize(l.Participants, Json),
        DestinationDetails = JsonSerializer.Serialize(l.DestinationDetails, Json),
    };

    /// <summary>Delete the call logs started in the last D days (all when null), 10,000 at a time; their rows become unprocessed.</summary>
    public async Task<int> DeleteAsync(Guid areaId, int? days, DateTimeOffset now, CancellationToken ct, Func<long, long, Task>? progress = null)
    {
        var since = days is { } d ? now.AddDays(-d) : DateTimeOffset.MinValue;
        var query = db.CallLogs.Where(c => c.AreaId == areaId && c.Date >= since);
        var total = await query.CountAsync(ct);
        var deleted = 0;
        while (true)
        {
            if (progress is not null)
            {
                await progress(deleted, total);
            }

            var batch = await query.OrderBy(c => c.Id).Select(c => c.Id).Take(10_000).ToListAsync(ct);
            if (batch.Count == 0)
            {
                return deleted;
            }

            deleted += await db.CallLogs.Where(c => c.AreaId == areaId && batch.Contains(c.Id)).ExecuteDeleteAsync(ct);
        }
    }

    /// <summary>Delete call logs older than the area's retention.</summary>
    public Task<int> PurgeAsync(Guid areaId, int retentionDays, DateTimeOffset now, CancellationToken ct)
    {
        var before = now.AddDays(-retentionDays);
        return db.CallLogs.Where(c => c.AreaId == areaId && c.Date < before).ExecuteDeleteAsync(ct);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Area {AreaId}: call {ConversationId} could not be interpreted: {Reason}")]
    private static partial void LogInterpretationFailed(ILogger logger, Guid areaId, string conversationId, string reason);
}
