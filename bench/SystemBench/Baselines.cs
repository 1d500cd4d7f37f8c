using CallLogs.Contracts;
using CallLogs.Testing;
using NpgsqlTypes;

namespace CallLogs.Bench.SystemBench;

internal sealed record BaselineRates(double Broker, double Copy, string Source, int Records);

/// <summary>
/// The raw broker and raw COPY rates, measured on private servers once the system is stopped, with records shaped as
/// the gateways' and in batches of the same size. The method bodies are those of bench/IngestBench/Baselines.cs
/// (copied, not referenced: that one needs the ingest service's assembly), except that the COPY's json column is
/// written with <see cref="CallRecordFields.ToFlatJson"/> instead of ingest's internal writer.
/// </summary>
internal static class Baselines
{
    public static async Task<BaselineRates> MeasureAsync(int records, int batchSize, int concurrency)
    {
        var infra = new Infrastructure();
        await infra.InitializeAsync();
        try
        {
            var area = Guid.NewGuid();
            var hour = new DateTimeOffset(DateTime.UtcNow.Date.AddHours(DateTime.UtcNow.Hour), TimeSpan.Zero);
            var batches = Enumerable.Range(0, Math.Max(1, records / batchSize))
                .Select(_ => Enumerable.Range(0, batchSize).Select(i => Records.Make(hour, i)).ToList()).ToList();
            var total = batches.Sum(b => b.Count);
            Progress.Log($"baselines: servers {infra.Source}; {Progress.Num(total)} records in batches of {batchSize}, {concurrency} publishers");
            var broker = await BrokerBaseline.RecordsPerSecondAsync(infra, area, batches, concurrency);
            Progress.Log($"raw MassTransit publish + consume: {Progress.Num(broker)} records/s");
            var copy = await CopyAsync(infra, area, batches);
            Progress.Log($"raw binary COPY: {Progress.Num(copy)} records/s");
            return new BaselineRates(broker, copy, infra.Source, total);
        }
        finally
        {
            await infra.DisposeAsync();
        }
    }

    /// <summary>The same records written with binary COPY into a table of the call_records columns (no partitions, no dedup).</summary>
    private static Task<double> CopyAsync(Infrastructure infra, Guid area, List<List<CallRecord>> batches) =>
        CopyBaseline.RowsPerSecondAsync(infra,
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
                await copy.WriteAsync(CallRecordFields.ToFlatJson(r), NpgsqlDbType.Json);
            });
}
