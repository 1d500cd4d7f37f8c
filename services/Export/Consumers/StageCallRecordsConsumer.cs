using System.Diagnostics.Metrics;
using CallLogs.Contracts;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace CallLogs.Export.Consumers;

/// <summary>
/// Keeps every ingested record until the hours it belongs to are exported; a redelivered batch stages nothing twice.
/// A record that arrives more than the maximum lateness after its hour ended is refused: counted and logged, never
/// silently dropped. A batch is COPYed straight into <c>staged_records</c>; only when that COPY meets a record staged
/// already (a redelivery, or ingest publishing a batch again after its commit failed) is the transaction run again
/// through a temporary table that skips them.
/// </summary>
public sealed partial class StageCallRecordsConsumer(NpgsqlDataSource dataSource, IOptions<ExportOptions> options, TimeProvider clock,
    ILogger<StageCallRecordsConsumer> logger) : IConsumer<CallRecordsIngested>
{
    private static readonly Counter<long> Received = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.records_received", description: "Call records received from the ingest service");

    private static readonly Counter<long> RefusedLate = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.records_refused_late", description: "Call records not exported because they arrived later than the maximum lateness after their hour");

    private static readonly Counter<long> Redelivered = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.staging_redelivered", description: "Ingested batches that held records staged already; those were skipped");

    private const string Columns = "area_id, request_uuid, request_time, received_at, api_key, service_id, service_name, http_status_code, values";

    public async Task Consume(ConsumeContext<CallRecordsIngested> context)
    {
        var batch = context.Message;
        var now = clock.GetUtcNow();
        var (records, late) = ExportRules.SplitLate(batch.Records, now, options.Value.MaxLateness);
        if (records.Count > 0)
        {
            await StageAsync(batch.AreaId, records, now.UtcDateTime, context.CancellationToken);
        }

        if (late.Count > 0)
        {
            RefusedLate.Add(late.Count);
            LogRefusedLate(logger, late.Count, batch.AreaId, batch.BatchId, late.Min(r => r.RequestTime), options.Value.MaxLateness);
        }

        Received.Add(batch.Records.Count);
    }

    /// <summary>
    /// One COPY straight into <c>staged_records</c>; when it meets a record staged already, that transaction is rolled
    /// back and the batch staged again, on the same connection, through a temporary table that skips those records.
    /// </summary>
    private async Task StageAsync(Guid areaId, IReadOnlyList<CallRecord> records, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await InStagingTransactionAsync(connection, () => CopyAsync(connection, "staged_records", areaId, records, now, cancellationToken), cancellationToken);
        }
        catch (PostgresException e) when (e.IsUniqueViolation())
        {
            Redelivered.Add(1);
            await InStagingTransactionAsync(connection, () => CopySkippingStagedAsync(connection, areaId, records, now, cancellationToken), cancellationToken);
        }
    }

    private static async Task InStagingTransactionAsync(NpgsqlConnection connection, Func<Task> work, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await StagingSequence.LockSharedAsync(connection, transaction, cancellationToken);
        await work();
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task CopySkippingStagedAsync(NpgsqlConnection connection, Guid areaId, IReadOnlyList<CallRecord> records, DateTime now,
        CancellationToken cancellationToken)
    {
        await using (var create = new NpgsqlCommand($"CREATE TEMP TABLE IF NOT EXISTS staging_in ON COMMIT DELETE ROWS AS SELECT {Columns} FROM staged_records WITH NO DATA", connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await CopyAsync(connection, "staging_in", areaId, records, now, cancellationToken);
        await using var insert = new NpgsqlCommand($"INSERT INTO staged_records ({Columns}) SELECT {Columns} FROM staging_in ON CONFLICT DO NOTHING", connection);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task CopyAsync(NpgsqlConnection connection, string table, Guid areaId, IReadOnlyList<CallRecord> records, DateTime now,
        CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var record in records)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(areaId, NpgsqlDbType.Uuid, cancellationToken);
            await copy.WriteAsync(record.RequestUuid, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(record.RequestTime.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
            await copy.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
            await WriteNullableAsync(copy, record.ApiKey, NpgsqlDbType.Text, cancellationToken);
            await WriteNullableAsync(copy, record.ServiceId, NpgsqlDbType.Text, cancellationToken);
            await WriteNullableAsync(copy, record.ServiceName, NpgsqlDbType.Text, cancellationToken);
            await WriteNullableAsync(copy, record.HttpStatusCode, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(CallRecordFields.Values(record), NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(value, type, cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Refused {Count} call records of area {AreaId} (batch {BatchId}) for export: they arrived more than {MaxLateness} after their hour ended (oldest request_time {Oldest})")]
    private static partial void LogRefusedLate(ILogger logger, int count, Guid areaId, Guid batchId, DateTimeOffset oldest, TimeSpan maxLateness);
}

/// <summary>
/// One batch at a time, two fetched ahead, in a bounded memory (more at once only held more batches in memory).
/// Instances share the queue.
/// </summary>
public sealed class StageCallRecordsConsumerDefinition : RetryingConsumerDefinition<StageCallRecordsConsumer>
{
    public StageCallRecordsConsumerDefinition()
    {
        ConcurrentMessageLimit = 1;
        Endpoint(e => e.PrefetchCount = 2);
    }
}
