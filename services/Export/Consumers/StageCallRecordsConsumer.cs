using System.Diagnostics.Metrics;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Messaging;
using MassTransit;
using Npgsql;
using NpgsqlTypes;

namespace CallLogs.Export.Consumers;

/// <summary>Keeps every ingested record until the hours it belongs to are exported; a redelivered batch stages nothing twice.</summary>
public sealed class StageCallRecordsConsumer(NpgsqlDataSource dataSource, TimeProvider clock) : IConsumer<CallRecordsIngested>
{
    private static readonly Counter<long> Received = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.records_received", description: "Call records received from the ingest service");

    public async Task Consume(ConsumeContext<CallRecordsIngested> context)
    {
        var batch = context.Message;
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(context.CancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(context.CancellationToken);
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE IF NOT EXISTS staging_in (LIKE staged_records) ON COMMIT DELETE ROWS", connection, transaction))
        {
            await create.ExecuteNonQueryAsync(context.CancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(
            "COPY staging_in (area_id, request_uuid, request_time, received_at, record) FROM STDIN (FORMAT BINARY)", context.CancellationToken))
        {
            foreach (var record in batch.Records)
            {
                await copy.StartRowAsync(context.CancellationToken);
                await copy.WriteAsync(batch.AreaId, NpgsqlDbType.Uuid, context.CancellationToken);
                await copy.WriteAsync(record.RequestUuid, NpgsqlDbType.Text, context.CancellationToken);
                await copy.WriteAsync(record.RequestTime.UtcDateTime, NpgsqlDbType.TimestampTz, context.CancellationToken);
                await copy.WriteAsync(now, NpgsqlDbType.TimestampTz, context.CancellationToken);
                await copy.WriteAsync(CallRecordFields.ToFlatJson(record), NpgsqlDbType.Jsonb, context.CancellationToken);
            }

            await copy.CompleteAsync(context.CancellationToken);
        }

        await using (var insert = new NpgsqlCommand("INSERT INTO staged_records SELECT * FROM staging_in ON CONFLICT DO NOTHING", connection, transaction))
        {
            await insert.ExecuteNonQueryAsync(context.CancellationToken);
        }

        await transaction.CommitAsync(context.CancellationToken);
        Received.Add(batch.Records.Count);
    }
}

public sealed class StageCallRecordsConsumerDefinition : RetryingConsumerDefinition<StageCallRecordsConsumer>;
