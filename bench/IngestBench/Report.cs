using System.Globalization;
using CallLogs.Testing;

namespace CallLogs.Bench.Ingest;

/// <summary>Writes this benchmark's section of docs/benchmarks.md, replacing the previous run's.</summary>
internal static class Report
{
    public static async Task WriteAsync(int total, int batchSize, int concurrency, string source, double broker, double copy, double accepted, double stored, double cpuPerRecord)
    {
        string F(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
        string R(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
        await BenchmarkReport.WriteSectionAsync("ingest-bench", $"""
            ## Ingest: records accepted and stored (issue 4)

            `dotnet run -c Release --project bench/IngestBench` — {F(total)} call records (all fields filled) posted to the ingest
            service, a real process over HTTP, as JSON batches of {F(batchSize)}, {concurrency} requests at a time; servers: {source}.
            "Accepted" is the rate of batches answered 200 (records deduplicated and reserved, COPYed into the partitioned
            `call_records` table, published and confirmed by RabbitMQ, committed); "stored" runs until the last record can be
            counted in `call_records`. A durable queue bound to the batch messages stands for export's and stream's queues.

            | measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC | records/s | ratio to raw broker | ratio to raw COPY |
            |---|---:|---:|---:|
            | raw MassTransit publish + consume of the same batch messages | {F(broker)} | 1.00 | {R(broker / copy)} |
            | raw binary COPY of the same records (one connection, no dedup) | {F(copy)} | {R(copy / broker)} | 1.00 |
            | **ingest: accepted** | **{F(accepted)}** | {R(accepted / broker)} | {R(accepted / copy)} |
            | **ingest: accepted and stored** | **{F(stored)}** | {R(stored / broker)} | {R(stored / copy)} |

            The ingest process used {cpuPerRecord.ToString("N1", CultureInfo.InvariantCulture)} µs of CPU per record (user + system, all its threads, over the timed part).

            Target: at least 20,000 records/s accepted and stored on 2 cores.
            """);
    }
}
