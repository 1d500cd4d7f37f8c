using CallLogs.Contracts;
using CallLogs.Testing;

namespace CallLogs.Bench.SystemBench;

internal sealed record BaselineRates(double Broker, double Copy, string Source, int Records, int LatencyRate, Latency BrokerLatency);

/// <summary>
/// The raw broker and raw COPY rates, measured on private servers once the system is stopped, with records shaped as
/// the gateways' and in batches of the same size: the baselines of bench/IngestBench, except that the COPY's json
/// column is written with <see cref="CallRecordFields.ToFlatJson"/> instead of ingest's internal writer. Then the raw
/// broker's latency at the sustained rate, as bench/StreamBench measures it, for the subscribers' latency to stand beside.
/// </summary>
internal static class Baselines
{
    public static async Task<BaselineRates> MeasureAsync(int records, int batchSize, int concurrency, int sustainedRate)
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
            var latencies = await BrokerBaseline.LatenciesAsync(infra, sustainedRate, batchSize, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30),
                _ => [.. Enumerable.Range(0, batchSize).Select(i => Records.Make(hour, i))]);
            var latency = Latency.Of(latencies);
            Progress.Log($"raw MassTransit publish → consume at {Progress.Num(sustainedRate)} records/s: p50 {Progress.Num(latency.P50)} ms, p99 {Progress.Num(latency.P99)} ms");
            return new BaselineRates(broker, copy, infra.Source, total, sustainedRate, latency);
        }
        finally
        {
            await infra.DisposeAsync();
        }
    }

    /// <summary>The same records written with binary COPY into a table of the call_records columns (no partitions, no dedup).</summary>
    private static Task<double> CopyAsync(Infrastructure infra, Guid area, List<List<CallRecord>> batches) =>
        CopyBaseline.CallRecordsPerSecondAsync(infra, area, batches, CallRecordFields.ToFlatJson);
}
