// Ingest benchmark: records per second accepted and stored by the ingest service (a real process, real HTTP,
// batches of 1,000), beside two baselines measured in the same run on the same servers and the same records:
// the raw MassTransit publish/consume rate of the batch messages, and the raw PostgreSQL binary COPY rate. A durable
// queue stands for the downstream services, so the broker takes and keeps every batch message as it would in use.
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using CallLogs.TestServers;
using CallLogs.Bench.Ingest;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using MassTransit;
using Npgsql;
using NpgsqlTypes;

const int Batches = 300;
const int BatchSize = 1_000;
var Concurrency = int.TryParse(Environment.GetEnvironmentVariable("BENCH_CONCURRENCY"), out var c) ? c : 4;

var infra = new Infrastructure();
await infra.InitializeAsync();
var database = $"bench_{Guid.NewGuid():N}";
var vhost = new Uri(await infra.NewRabbitMqVirtualHostAsync());
try
{
    var area = Guid.NewGuid();
    var now = DateTimeOffset.UtcNow;
    var batches = Enumerable.Range(0, Batches).Select(b => Enumerable.Range(0, BatchSize).Select(i => Records.Make(now, b, i)).ToList()).ToList();
    var total = Batches * BatchSize;
    Console.WriteLine($"servers: {infra.Source}; {total:N0} records in batches of {BatchSize:N0}, {Concurrency} at a time");

    var broker = await BrokerBaseline.RecordsPerSecondAsync(infra, area, batches, Concurrency);
    Console.WriteLine($"raw MassTransit publish+consume: {broker:N0} records/s");
    var copy = await Baselines.CopyAsync(infra, area, batches);
    Console.WriteLine($"raw binary COPY: {copy:N0} records/s");

    // The queue of a downstream service (export, stream), bound before ingest starts: the broker keeps every batch.
    await using var downstream = await Downstream.BindAsync(vhost);
    var endpoints = new InfrastructureEndpoints(vhost, infra.RabbitMqManagementUri, infra.PostgresAdminConnectionString, infra.S3ConnectionString);
    var port = Ports.Free();
    var environment = BenchmarkReport.ServiceEnvironmentFor("Ingest", endpoints, infra.SigningKey, new Dictionary<string, int> { ["Ingest"] = port }, database);
    await using var ingest = new ServiceResource("Ingest", port, environment, _ => { });
    ingest.Start();
    await Eventually.Until(() => ingest.State == ResourceState.Healthy, TimeSpan.FromMinutes(2), "ingest healthy");

    using var http = new HttpClient { BaseAddress = ingest.Url, Timeout = TimeSpan.FromMinutes(2) };
    http.DefaultRequestHeaders.Authorization = new("Bearer", infra.Tokens.Issue(Roles.Ingest, area, "bench-gateway"));
    var payloads = batches.Select(b => System.Text.Encoding.UTF8.GetBytes("[" + string.Join(",", b.Select(CallRecordFields.ToFlatJson)) + "]")).ToList();
    await (await http.PostAsync($"/api/areas/{Guid.NewGuid()}/call-records", new ByteArrayContent(payloads[0]) { Headers = { ContentType = new("application/json") } })).Content.ReadAsStringAsync();

    using var service = Process.GetProcessById(ingest.ProcessId!.Value);
    var cpu = service.TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    var next = -1;
    await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < payloads.Count)
        {
            using var content = new ByteArrayContent(payloads[i]);
            content.Headers.ContentType = new("application/json");
            using var response = await http.PostAsync($"/api/areas/{area}/call-records", content);
            var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (!response.IsSuccessStatusCode || answer.GetProperty("accepted").GetInt32() != BatchSize)
            {
                throw new InvalidOperationException($"batch {i}: {response.StatusCode} {answer}");
            }
        }
    }));
    var accepted = clock.Elapsed;

    var connection = new NpgsqlConnectionStringBuilder(infra.PostgresAdminConnectionString) { Database = database }.ConnectionString;
    await Eventually.Until(async () => await Baselines.CountAsync(connection, area) >= total, TimeSpan.FromMinutes(5), "every record stored");
    var stored = clock.Elapsed;
    service.Refresh();
    var cpuPerRecord = (service.TotalProcessorTime - cpu).TotalMicroseconds / total;

    var queued = await downstream.MessageCountAsync();
    if (queued < Batches)
    {
        throw new InvalidOperationException($"only {queued} batch messages reached the downstream queue, {Batches} expected");
    }

    var acceptedRate = total / accepted.TotalSeconds;
    var storedRate = total / stored.TotalSeconds;
    Console.WriteLine($"ingest accepted: {acceptedRate:N0} records/s ({accepted.TotalSeconds:N1} s); accepted and stored: {storedRate:N0} records/s ({stored.TotalSeconds:N1} s); ingest process CPU {cpuPerRecord:N1} µs per record");
    await Report.WriteAsync(total, BatchSize, Concurrency, infra.Source, broker, copy, acceptedRate, storedRate, cpuPerRecord);
}
finally
{
    await infra.DropDatabaseAsync(database);
    await infra.DeleteRabbitMqVirtualHostAsync(vhost.ToString());
    await infra.DisposeAsync();
}
