using System.Diagnostics.Metrics;
using CallLogs.Contracts;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace CallLogs.Export.Consumers;

/// <summary>
/// Keeps every ingested record until the hours it belongs to are exported; a redelivered batch stages nothing twice.
/// A record that arrives more than the maximum lateness after its hour ended is refused: counted and logged, never
/// silently dropped.
/// </summary>
public sealed partial class StageCallRecordsConsumer(NpgsqlDataSource dataSource, IOptions<ExportOptions> options, TimeProvider clock,
    ILogger<StageCallRecordsConsumer> logger) : IConsumer<CallRecordsIngested>
{
    private static readonly Counter<long> Received = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.records_received", description: "Call records received from the ingest service");

    private static readonly Counter<long> RefusedLate = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.records_refused_late", description: "Call records not exported because they arrived later than the maximum lateness after their hour");

    private const string Columns = "area_id, request_uuid, request_time, received_at, api_key, service_id, service_name, http_status_code, values";

    public async Task Consume(ConsumeContext<CallRecordsIngested> context)
    {
        var batch = context.Message;
        var now = clock.GetUtcNow();
        var (records, late) = ExportRules.SplitLate(batch.Records, now, options.Value.MaxLateness);
        if (late.Count > 0)
        {
            RefusedLate.Add(late.Count);
            LogRefusedLate(logger, late.Count, batch.AreaId, batch.BatchId, late.Min(r => r.RequestTime), options.Value.MaxLateness);
        }

        if (records.Count > 0)
        {
            await StageAsync(batch.AreaId, records, now.UtcDateTime, context.CancellationToken);
        }

        Received.Add(batch.Records.Count);
    }

    private async Task StageAsync(Guid areaId, IReadOnlyList<CallRecord> records, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await StagingSequence.LockSharedAsync(connection, transaction, cancellationToken);
        await using (var create = new NpgsqlCommand($"CREATE TEMP TABLE IF NOT EXISTS staging_in ON COMMIT DELETE ROWS AS SELECT {Columns} FROM staged_records WITH NO DATA", connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(
            $"COPY staging_in ({Columns}) FROM STDIN (FORMAT BINARY)",
            cancellationToken))
        {
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

        await using (var insert = new NpgsqlCommand($"INSERT INTO staged_records ({Columns}) SELECT {Columns} FROM staging_in ON CONFLICT DO NOTHING", connection, transaction))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(value, type, cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Refused {Count} call records of area {AreaId} (batch {BatchId}) for export: they arrived more than {MaxLateness} after their hour ended (oldest request_time {Oldest})")]
    private static partial void LogRefusedLate(ILogger logger, int count, Guid areaId, Guid batchId, DateTimeOffset oldest, TimeSpan maxLateness);
}

/// <summary>
/// One batch at a time, two fetched ahead: that stages faster than ingest accepts (bench/ExportBench measures it), in a
/// bounded memory; more at once only hold more batches in memory. Instances share the queue, so a
/// second one doubles the rate.
/// </summary>
public sealed class StageCallRecordsConsumerDefinition : RetryingConsumerDefinition<StageCallRecordsConsumer>
{
    public StageCallRecordsConsumerDefinition()
    {
        ConcurrentMessageLimit = 1;
        Endpoint(e => e.PrefetchCount = 2);
    }
}
