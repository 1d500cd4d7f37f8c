using CallLogs.Contracts;
using CallLogs.Ingest.Domain;
using CallLogs.Ingest.Extensions;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Secrets;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace CallLogs.Ingest.Data;

/// <summary>The broker did not confirm the batch in time: nothing of it was accepted.</summary>
public sealed class BrokerUnavailableException(Exception inner) : Exception("The message broker did not confirm the batch.", inner);

/// <summary>
/// Accepts a batch all or nothing: in one transaction the new request ids are reserved (a duplicate of an accepted
/// one is recognised and left out: <see cref="ReserveAllAsync"/>, then <see cref="ReserveNewAsync"/> for a batch that
/// repeats one), the new records are written to the store with binary COPY, published as batch messages and confirmed
/// by the broker, and only then is the transaction committed. The records' secrets are sealed before any of it
/// (<see cref="SecretSeal"/>). If the broker does not confirm, the transaction rolls
/// back and the gateway's retry finds nothing reserved or stored.
/// </summary>
public sealed class BatchAcceptance(NpgsqlDataSource dataSource, CallRecordStore store, IPublishEndpoint publish, SecretSeal seal,
    IOptions<IngestOptions> options)
{
    public async Task<(int Accepted, int Duplicates)> AcceptAsync(Guid areaId, IReadOnlyList<CallRecord> records, DateTimeOffset now,
        int retentionDays, CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return (0, 0);
        }

        // From here on the records' secrets are sealed: the store and the broker never see them in clear.
        records = records.Select(seal.Seal).ToList();
        try
        {
            return await AcceptOnceAsync(areaId, records, now, retentionDays, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.CheckViolation)
        {
            // No partition for a day that another instance's retention dropped meanwhile: learn the partitions again.
            store.ForgetPartitions();
            return await AcceptOnceAsync(areaId, records, now, retentionDays, cancellationToken);
        }
    }

    private async Task<(int Accepted, int Duplicates)> AcceptOnceAsync(Guid areaId, IReadOnlyList<CallRecord> records, DateTimeOffset now,
        int retentionDays, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await store.EnsurePartitionsAsync(connection, records, retentionDays, cancellationToken);
        try
        {
            return await AcceptInTransactionAsync(connection, areaId, records, now, retentionDays, ReserveAllAsync, cancellationToken);
        }
        catch (PostgresException e) when (e.IsUniqueViolation() && e.TableName == "accepted_requests")
        {
            // A batch resent after a lost answer, or one that names an id twice: its transaction is rolled back, and the
            // batch goes again with its ids reserved so that the accepted ones are recognised and left out.
            return await AcceptInTransactionAsync(connection, areaId, records, now, retentionDays, ReserveNewAsync, cancellationToken);
        }
    }

    /// <summary>Reserves a batch's ids in the transaction: the records to accept.</summary>
    private delegate Task<IReadOnlyList<CallRecord>> Reservation(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid areaId,
        IReadOnlyList<CallRecord> records, DateTimeOffset now, CancellationToken cancellationToken);

    private async Task<(int Accepted, int Duplicates)> AcceptInTransactionAsync(NpgsqlConnection connection, Guid areaId, IReadOnlyList<CallRecord> records,
        DateTimeOffset now, int retentionDays, Reservation reserve, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var accepted = await reserve(connection, transaction, areaId, records, now, cancellationToken);
        if (accepted.Count > 0)
        {
            var sizes = await store.WriteAsync(connection, transaction, areaId, accepted, retentionDays, cancellationToken);
            await PublishAsync(areaId, accepted, sizes, now, cancellationToken);
        }

        await transaction.CommitAsync(CancellationToken.None);
        return (accepted.Count, records.Count - accepted.Count);
    }

    /// <summary>
    /// Reserves every id of the batch by one binary COPY (the usual batch repeats none, and PostgreSQL stores a COPY's
    /// rows for a fraction of what an insert that checks each row for a conflict costs): all its records, or a unique
    /// violation on <c>accepted_requests</c> when an id is taken already.
    /// </summary>
    private static async Task<IReadOnlyList<CallRecord>> ReserveAllAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid areaId,
        IReadOnlyList<CallRecord> records, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY accepted_requests (area_id, request_uuid, accepted_at) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var record in records)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(areaId, NpgsqlDbType.Uuid, cancellationToken);
            await copy.WriteAsync(record.RequestUuid, NpgsqlDbType.Varchar, cancellationToken);
            await copy.WriteAsync(now.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
        return records;
    }

    /// <summary>Reserves the ids not accepted yet, in one round trip (the batch's ids as an array parameter); the records of those ids.</summary>
    private static async Task<IReadOnlyList<CallRecord>> ReserveNewAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid areaId,
        IReadOnlyList<CallRecord> records, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var fresh = new HashSet<string>(StringComparer.Ordinal);
        await using (var reserve = new NpgsqlCommand(
            "INSERT INTO accepted_requests (area_id, request_uuid, accepted_at) SELECT @area, u, @now FROM unnest(@uuids) AS u ON CONFLICT DO NOTHING RETURNING request_uuid",
            connection, transaction))
        {
            reserve.Parameters.AddWithValue("area", areaId);
            reserve.Parameters.AddWithValue("now", now.UtcDateTime);
            reserve.Parameters.Add(new NpgsqlParameter<string[]>("uuids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. records.Select(r => r.RequestUuid)] });
            await using var reader = await reserve.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                fresh.Add(reader.GetString(0));
            }
        }

        return fresh.Count == records.Count ? records : records.Where(r => fresh.Contains(r.RequestUuid)).ToList();
    }

    private async Task PublishAsync(Guid areaId, IReadOnlyList<CallRecord> accepted, int[] sizes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.PublishTimeout);
        try
        {
            var messages = MessageChunks.Split(sizes, options.Value.RecordsPerMessage, options.Value.MaxMessageBytes);
            await Task.WhenAll(messages.Select(range => publish.Publish(new CallRecordsIngested
            {
                BatchId = Guid.NewGuid(),
                AreaId = areaId,
                AcceptedAt = now,
                Records = accepted.Take(range).ToArray(),
            }, timeout.Token)));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BrokerUnavailableException(ex);
        }
    }
}
