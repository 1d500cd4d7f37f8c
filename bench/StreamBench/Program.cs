// Stream benchmark: latency from "ingest accepted" (the record's ingestion_time) to "record received" by each of five
// WebSocket subscribers, at 5,000 records/s posted to the ingest service; both services are real processes. Beside
// it, in the same run, the raw MassTransit publish-to-consume latency of the same batches. Each run starts with a
// warm-up at the same rate (JIT, connection pools, first queries) whose records are not counted.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using CallLogs.TestServers;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;

const int RecordsPerSecond = 5_000;
const int BatchSize = 250;
const int Seconds = 20;
const int Subscribers = 5;
const int WarmUpSeconds = 5;

var infra = new Infrastructure();
await infra.InitializeAsync();
try
{
    var baseline = await BrokerBaseline.LatenciesAsync(infra, RecordsPerSecond, BatchSize, TimeSpan.FromSeconds(WarmUpSeconds), TimeSpan.FromSeconds(Seconds), Batch);
    Console.WriteLine($"raw MassTransit publish→consume: {Stats.Describe(baseline)}");

    var vhost = new Uri(await infra.NewRabbitMqVirtualHostAsync());
    var endpoints = new InfrastructureEndpoints(vhost, infra.RabbitMqManagementUri, infra.PostgresAdminConnectionString, infra.S3ConnectionString);
    var ports = new Dictionary<string, int> { ["Ingest"] = Ports.Free(), ["Stream"] = Ports.Free() };
    var run = Guid.NewGuid().ToString("N")[..8];
    var services = ports.Keys.Select(name =>
    {
        var environment = BenchmarkReport.ServiceEnvironmentFor(name, endpoints, infra.SigningKey, ports, $"bench_{run}_{name.ToLowerInvariant()}");
        return new ServiceResource(name, ports[name], environment, _ => { });
    }).ToList();
    foreach (var service in services)
    {
        service.Start();
    }

    try
    {
        await Eventually.Until(() => services.All(s => s.State == ResourceState.Healthy), TimeSpan.FromMinutes(2), "ingest and stream healthy");
        var area = Guid.NewGuid();
        var streamUrl = services.Single(s => s.Service == "Stream").Url;
        using var admin = new HttpClient { BaseAddress = streamUrl };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", infra.Tokens.Issue(Roles.AreaAdmin, area, "bench-admin"));
        var channel = await (await admin.PostAsync($"/api/areas/{area}/stream-channel", null)).Content.ReadFromJsonAsync<JsonElement>();
        var channelId = channel.GetProperty("id").GetGuid();
        var key = channel.GetProperty("tokens")[0].GetProperty("secret").GetString();

        var latencies = new List<double>[Subscribers];
        var sockets = new List<ClientWebSocket>();
        for (var i = 0; i < Subscribers; i++)
        {
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri($"ws://{streamUrl.Authority}/ecls/subscribe/{area}/{channelId}?key={key}"), CancellationToken.None);
            sockets.Add(socket);
            latencies[i] = [];
        }

        using var stop = new CancellationTokenSource();
        var measureFrom = new StrongBox<long>(long.MaxValue);
        var readers = sockets.Select((s, i) => ReadAsync(s, latencies[i], measureFrom, stop.Token)).ToList();

        using var ingest = new HttpClient { BaseAddress = services.Single(s => s.Service == "Ingest").Url };
        ingest.DefaultRequestHeaders.Authorization = new("Bearer", infra.Tokens.Issue(Roles.Ingest, area, "bench-gateway"));
        // how long ingest took to answer each measured batch (it publishes the batch before it answers)
        var answered = new List<double>();
        async Task Post(List<CallRecord> batch)
        {
            var body = batch.Select(r => JsonDocument.Parse(CallRecordFields.ToFlatJson(r)).RootElement).ToList();
            var (sentAt, measured) = (Stopwatch.GetTimestamp(), measureFrom.Value != long.MaxValue);
            using var response = await ingest.PostAsJsonAsync($"/api/areas/{area}/call-records", body);
            response.EnsureSuccessStatusCode();
            if (measured)
            {
                lock (answered)
                {
                    answered.Add(Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds);
                }
            }
        }

        await Paced.RunAsync(RecordsPerSecond, BatchSize, TimeSpan.FromSeconds(WarmUpSeconds), Batch, Post);
        measureFrom.Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var sent = await Paced.RunAsync(RecordsPerSecond, BatchSize, TimeSpan.FromSeconds(Seconds), Batch, Post);

        await Eventually.Until(() => latencies.All(l => { lock (l) { return l.Count >= sent; } }), TimeSpan.FromSeconds(60), "every subscriber got every record");
        await stop.CancelAsync();
        var all = latencies.SelectMany(l => l).ToList();
        var delivered = all.Count / (double)Seconds;
        Console.WriteLine($"ingest→{Subscribers} WebSocket subscribers: {Stats.Describe(all)}; delivered {delivered:N0} records/s");
        Console.WriteLine($"ingest answered its POST: {Stats.Describe(answered, "batches")}");
        await Report.WriteAsync(RecordsPerSecond, Subscribers, Seconds, infra.Source, baseline, all, answered, delivered);
        foreach (var socket in sockets)
        {
            socket.Abort();
        }
    }
    finally
    {
        foreach (var service in services)
        {
            await service.DisposeAsync();
        }

        foreach (var name in ports.Keys)
        {
            await infra.DropDatabaseAsync($"bench_{run}_{name.ToLowerInvariant()}");
        }

        await infra.DeleteRabbitMqVirtualHostAsync(vhost.ToString());
    }
}
finally
{
    await infra.DisposeAsync();
}

/// <summary>Reads frames; records accepted before <paramref name="measureFrom"/> (the warm-up) are not counted.</summary>
static async Task ReadAsync(ClientWebSocket socket, List<double> latencies, StrongBox<long> measureFrom, CancellationToken stop)
{
    var buffer = new byte[4 << 20];
    var text = new MemoryStream();
    try
    {
        while (!stop.IsCancellationRequested)
        {
            var result = await socket.ReceiveAsync(buffer, stop);
            text.Write(buffer, 0, result.Count);
            if (!result.EndOfMessage)
            {
                continue;
            }

            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            using var frame = JsonDocument.Parse(text.ToArray());
            text.SetLength(0);
            if (!frame.RootElement.TryGetProperty("data", out var data))
            {
                continue;
            }

            lock (latencies)
            {
                foreach (var record in data.EnumerateArray())
                {
                    var accepted = long.Parse(record.GetProperty("ingestion_time").GetString()!, CultureInfo.InvariantCulture);
                    if (accepted >= Volatile.Read(ref measureFrom.Value))
                    {
                        latencies.Add(now - accepted);
                    }
                }
            }
        }
    }
    catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
    {
    }
}

/// <summary>The records of one batch, as StreamBench has always sent them.</summary>
static List<CallRecord> Batch(int index) => [.. Enumerable.Range(0, BatchSize).Select(_ => new CallRecord
{
    RequestUuid = Guid.NewGuid().ToString(),
    RequestTime = DateTimeOffset.UtcNow,
    ApiKey = "key-0123456789",
    ServiceName = "Weather API",
    EndpointName = "forecast",
    HttpStatusCode = 200,
    SrcIp = "10.0.0.1",
    TotalRequestExecTime = 0.05,
})];

internal static class Stats
{
    public static (double P50, double P99, double Max) Of(List<double> values)
    {
        var sorted = values.Order().ToList();
        return (sorted[(int)(sorted.Count * 0.50)], sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * 0.99))], sorted[^1]);
    }

    public static string Describe(List<double> values, string of = "records")
    {
        var (p50, p99, max) = Of(values);
        return $"p50 {p50:N0} ms, p99 {p99:N0} ms, max {max:N0} ms over {values.Count:N0} {of}";
    }
}

internal static class Report
{
    public static async Task WriteAsync(int rate, int subscribers, int seconds, string source, List<double> baseline, List<double> system,
        List<double> answered, double delivered)
    {
        var b = Stats.Of(baseline);
        var s = Stats.Of(system);
        var a = Stats.Of(answered);
        string F(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
        await BenchmarkReport.WriteSectionAsync("stream-bench", $"""
            ## Stream: latency from ingest accepted to record received (issue 6)

            `dotnet run -c Release --project bench/StreamBench` — {F(rate)} records/s posted to the ingest service for {seconds} s
            after a 5 s warm-up at the same rate that is not counted (batches of 250), {subscribers} WebSocket subscribers on the
            area's channel; ingest and stream are real processes; servers: {source}. Latency = time a subscriber parsed the frame − the record's `ingestion_time` (set when ingest accepted it),
            in milliseconds (both clocks are this machine's).

            | measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC | p50 ms | p99 ms | max ms | records |
            |---|---:|---:|---:|---:|
            | raw MassTransit publish → consume of the same batches | {F(b.P50)} | {F(b.P99)} | {F(b.Max)} | {F(baseline.Count)} |
            | **ingest accepted → received by each of {subscribers} subscribers** | **{F(s.P50)}** | **{F(s.P99)}** | **{F(s.Max)}** | {F(system.Count)} |
            | ingest's answer to each POST (round trip per batch; it publishes the batch before it answers) | {F(a.P50)} | {F(a.P99)} | {F(a.Max)} | {F(answered.Count)} batches |

            Delivered: {F(delivered)} records/s in all ({F(delivered / subscribers)} per subscriber). Target: p99 under 100 ms.
            """);
    }
}
