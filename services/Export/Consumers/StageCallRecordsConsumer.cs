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
/// silently dropped. Several ingested batches are staged in one transaction: one COPY straight into
/// <c>staged_records</c>; only when that COPY meets a record staged already (a redelivery, or ingest publishing a batch
/// again after its commit failed) is the transaction run again through a temporary table that skips them.
/// </summary>
public sealed partial class StageCallRecordsConsumer(NpgsqlDataSource dataSource, IOptions<ExportOptions> options, TimeProvider clock,
    ILogger<StageCallRecordsConsumer> logger) : IConsumer<Batch<CallRecordsIngested>>
{
    private static readonly Counter<long> Received = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.records_received", description: "Call records received from the ingest service");

    private static readonly Counter<long> RefusedLate = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.records_refused_late", description: "Call records not exported because they arrived later than the maximum lateness after their hour");

    private static readonly Counter<long> Redelivered = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.staging_redelivered", description: "Ingested batches that held records staged already; those were skipped");

    private const string Columns = "area_id, request_uuid, request_time, received_at, api_key, service_id, service_name, http_status_code, values";

    public async Task Consume(ConsumeContext<Batch<CallRecordsIngested>> context)
    {
        var now = clock.GetUtcNow();
        var staging = new List<Staged>(context.Message.Length);
        foreach (var batch in context.Message.Select(m => m.Message))
        {
            var (records, late) = ExportRules.SplitLate(batch.Records, now, options.Value.MaxLateness);
            if (records.Count > 0)
            {
                staging.Add(new Staged(batch.AreaId, records));
            }

            if (late.Count > 0)
            {
                RefusedLate.Add(late.Count);
                LogRefusedLate(logger, late.Count, batch.AreaId, batch.BatchId, late.Min(r => r.RequestTime), options.Value.MaxLateness);
            }
        }

        if (staging.Count > 0)
        {
            await StageAsync(staging, now.UtcDateTime, context.CancellationToken);
        }

        Received.Add(context.Message.Sum(m => m.Message.Records.Count));
    }

    /// <summary>The records of one ingested batch that are staged.</summary>
    private sealed record Staged(Guid AreaId, IReadOnlyList<CallRecord> Records);

    /// <summary>
    /// One COPY straight into <c>staged_records</c>; when it meets a record staged already, that transaction is rolled
    /// back and the batches staged again, on the same connection, through a temporary table that skips those records.
    /// </summary>
    private async Task StageAsync(IReadOnlyList<Staged> staging, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await InStagingTransactionAsync(connection, () => CopyAsync(connection, "staged_records", staging, now, cancellationToken), cancellationToken);
        }
        catch (PostgresException e) when (e.IsUniqueViolation())
        {
            Redelivered.Add(1);
            await InStagingTransactionAsync(connection, () => CopySkippingStagedAsync(connection, staging, now, cancellationToken), cancellationToken);
        }
    }

    private static async Task InStagingTransactionAsync(NpgsqlConnection connection, Func<Task> work, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await StagingSequence.LockSharedAsync(connection, transaction, cancellationToken);
        await work();
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task CopySkippingStagedAsync(NpgsqlConnection connection, IReadOnlyList<Staged> staging, DateTime now,
        CancellationToken cancellationToken)
    {
        await using (var create = new NpgsqlCommand($"CREATE TEMP TABLE IF NOT EXISTS staging_in ON COMMIT DELETE ROWS AS SELECT {Columns} FROM staged_records WITH NO DATA", connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await CopyAsync(connection, "staging_in", staging, now, cancellationToken);
        await using var insert = new NpgsqlCommand($"INSERT INTO staged_records ({Columns}) SELECT {Columns} FROM staging_in ON CONFLICT DO NOTHING", connection);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task CopyAsync(NpgsqlConnection connection, string table, IReadOnlyList<Staged> staging, DateTime now,
        CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var (areaId, record) in staging.SelectMany(s => s.Records.Select(r => (s.AreaId, r))))
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
/// Up to <see cref="BatchesPerTransaction"/> ingested batches in one transaction, <see cref="Transactions"/> transactions
/// at a time, and no more fetched than they take, so memory stays bounded: one COPY and one commit with its WAL flush for
/// several batches instead of each, and the next transaction's batches read while PostgreSQL writes the last one's (one
/// at a time left a core idle: docs/benchmarks.md, "Export"; four batches a transaction held more than export's memory
/// budget). A batch waits at most <see cref="WaitForMore"/> for others to join it. Transactions of one instance stage
/// side by side as those of several instances do (<see cref="StagingSequence"/>).
/// </summary>
public sealed class StageCallRecordsConsumerDefinition : RetryingConsumerDefinition<StageCallRecordsConsumer>
{
    public const int BatchesPerTransaction = 2;
    public const int Transactions = 2;
    public static readonly TimeSpan WaitForMore = TimeSpan.FromMilliseconds(50);

    public StageCallRecordsConsumerDefinition()
    {
        // Never more batches in memory than the transactions take (the transport's default prefetch is larger).
        Endpoint(e => e.PrefetchCount = BatchesPerTransaction * Transactions);
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<StageCallRecordsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        base.ConfigureConsumer(endpointConfigurator, consumerConfigurator, context);
        endpointConfigurator.UseEnvelopeDeserializerOf<CallRecordsIngested>();
        consumerConfigurator.Options<BatchOptions>(o => o.SetMessageLimit(BatchesPerTransaction).SetTimeLimit(WaitForMore).SetConcurrencyLimit(Transactions));
    }
}
