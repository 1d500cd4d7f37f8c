using System.Diagnostics;
using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using CallLogs.TestServers;
using RabbitMQ.Client;

namespace CallLogs.Bench.Export;

/// <summary>What ingest did with the benchmark's records: accepted per second, and its CPU and PostgreSQL's per record.</summary>
internal sealed record IngestResult(double AcceptedRate, double StoredAndPublishedRate, double ServiceCpu, double PostgresCpu);

/// <summary>
/// The records reach the export as they do in use: posted to the ingest service (a real process, real HTTP, batches of
/// 1,000, four at a time, each batch one area's with that area's gateway token), which stores them and publishes them to
/// the export's queue. The export service is stopped meanwhile, so ingest has the machine to itself and its accepted
/// rate is the one to compare staging with; the queue keeps every batch until the export drains it.
/// </summary>
internal static class IngestPhase
{
    private const int Concurrency = 4;

    public static async Task<IngestResult> RunAsync(Infrastructure infra, InfrastructureEndpoints endpoints, string database, Uri vhost, string exportQueue,
        Guid[] areas, DateTimeOffset hour0, int hours, int total, int batchSize, Func<TimeSpan> postgresCpu)
    {
        var batches = total / batchSize;
        var payloads = Enumerable.Range(0, batches).Select(b =>
            Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Range(b * batchSize, batchSize).Select(i => CallRecordFields.ToFlatJson(SampleRecords.Make(hour0, hours, total, i)))) + "]")).ToList();

        var port = Ports.Free();
        var environment = BenchmarkReport.ServiceEnvironmentFor("Ingest", endpoints, infra.SigningKey, new Dictionary<string, int> { ["Ingest"] = port }, database);
        await using var ingest = new ServiceResource("Ingest", port, environment, _ => { });
        ingest.Start();
        await Eventually.Until(() => ingest.State == ResourceState.Healthy, TimeSpan.FromMinutes(2), "ingest healthy");

        var tokens = areas.Select(area => infra.Tokens.Issue(Roles.Ingest, area, "bench-gateway")).ToArray();
        using var http = new HttpClient { BaseAddress = ingest.Url, Timeout = TimeSpan.FromMinutes(2) };
        // A first request outside the clock, refused (another area's), so the clock does not time the service's start.
        await PostAsync(http, Guid.NewGuid(), tokens[0], payloads[0], expected: null);

        var factory = new ConnectionFactory { Uri = vhost };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queuedBefore = await channel.MessageCountAsync(exportQueue);

        using var service = Process.GetProcessById(ingest.ProcessId!.Value);
        var (serviceBefore, postgresBefore) = (service.TotalProcessorTime, postgresCpu());
        var clock = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < batches)
            {
                await PostAsync(http, areas[b % areas.Length], tokens[b % areas.Length], payloads[b], batchSize);
            }
        }));
        var accepted = clock.Elapsed;
        await Eventually.Until(async () => ingest.State == ResourceState.Exited
                ? throw new InvalidOperationException("The ingest service exited before publishing every batch.")
                : await channel.MessageCountAsync(exportQueue) - queuedBefore >= batches,
            TimeSpan.FromMinutes(10), "every batch in the export's queue");
        var published = clock.Elapsed;
        service.Refresh();
        return new IngestResult(total / accepted.TotalSeconds, total / published.TotalSeconds,
            (service.TotalProcessorTime - serviceBefore).TotalMicroseconds / total, (postgresCpu() - postgresBefore).TotalMicroseconds / total);
    }

    private static async Task PostAsync(HttpClient http, Guid area, string token, byte[] payload, int? expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/areas/{area}/call-records") { Content = new ByteArrayContent(payload) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        var answer = await response.Content.ReadAsStringAsync();
        if (expected is { } count && (!response.IsSuccessStatusCode || JsonDocument.Parse(answer).RootElement.GetProperty("accepted").GetInt32() != count))
        {
            throw new InvalidOperationException($"ingest answered {(int)response.StatusCode} to a batch of area {area}: {answer}");
        }
    }
}
