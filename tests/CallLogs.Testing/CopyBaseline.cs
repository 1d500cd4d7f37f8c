using System.Diagnostics;
using CallLogs.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace CallLogs.Testing;

/// <summary>
/// The raw PostgreSQL baseline of the benchmarks: rows written with binary COPY, batch by batch, into the table
/// <c>raw_records</c> of a scratch database (no index, no partition, nothing else done), dropped afterwards.
/// </summary>
public static class CopyBaseline
{
    /// <summary>
    /// Call records per second of the COPY alone into a table of ingest's call_records columns (no partitions, no
    /// dedup), the record itself as <paramref name="json"/> writes it (what ingest stores in its json column).
    /// </summary>
    public static Task<double> CallRecordsPerSecondAsync<TJson>(Infrastructure infra, Guid area, IReadOnlyList<IReadOnlyCollection<CallRecord>> batches,
        Func<CallRecord, TJson> json) =>
        RowsPerSecondAsync(infra,
            "area_id uuid, request_time timestamptz, request_uuid text, ingestion_time bigint, api_key text, service_id text, service_name text, endpoint_name text, http_status_code int, src_ip text, record json",
            batches, async (copy, r) =>
            {
                await copy.WriteAsync(area, NpgsqlDbType.Uuid);
                await copy.WriteAsync(r.RequestTime.UtcDateTime, NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(r.RequestUuid, NpgsqlDbType.Text);
                await copy.WriteAsync(r.IngestionTime, NpgsqlDbType.Bigint);
                await copy.WriteAsync(r.ApiKey, NpgsqlDbType.Text);
                await copy.WriteAsync(r.ServiceId, NpgsqlDbType.Text);
                await copy.WriteAsync(r.ServiceName, NpgsqlDbType.Text);
                await copy.WriteAsync(r.EndpointName, NpgsqlDbType.Text);
                await copy.WriteAsync(r.HttpStatusCode ?? 0, NpgsqlDbType.Integer);
                await copy.WriteAsync(r.SrcIp, NpgsqlDbType.Text);
                await copy.WriteAsync(json(r), NpgsqlDbType.Json);
            });

    /// <summary>Rows per second of the COPY alone. <paramref name="columns"/>: the table's column definitions, in the order <paramref name="writeRow"/> writes them.</summary>
    public static async Task<double> RowsPerSecondAsync<T>(Infrastructure infra, string columns, IReadOnlyList<IReadOnlyCollection<T>> batches,
        Func<NpgsqlBinaryImporter, T, Task> writeRow)
    {
        var database = $"bench_copy_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(infra.PostgresAdminConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync();
        }

        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(infra.PostgresAdminConnectionString) { Database = database }.ConnectionString);
            await connection.OpenAsync();
            await using (var table = new NpgsqlCommand($"CREATE TABLE raw_records ({columns})", connection))
            {
                await table.ExecuteNonQueryAsync();
            }

            var clock = Stopwatch.StartNew();
            foreach (var batch in batches)
            {
                await using var copy = await connection.BeginBinaryImportAsync("COPY raw_records FROM STDIN (FORMAT BINARY)");
                foreach (var row in batch)
                {
                    await copy.StartRowAsync();
                    await writeRow(copy, row);
                }

                await copy.CompleteAsync();
            }

            return batches.Sum(b => b.Count) / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            await infra.DropDatabaseAsync(database);
        }
    }
}
