using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using Npgsql;

namespace CallLogs.Ingest.Tests;

[Collection(InfrastructureCollection.Name)]
public sealed class BrokerOutageTests(Infrastructure infra)
{
    [Fact]
    public async Task With_rabbitmq_unreachable_ingest_answers_503_and_once_it_is_back_the_retried_batch_arrives_exactly_once()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        await using var broker = await TcpProxy.StartAsync(new Uri(vhost));
        await using var service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = new UriBuilder(vhost) { Port = broker.Port }.Uri.ToString(),
            ["Ingest:PublishTimeout"] = "00:00:02",
        });
        await using var events = await EventCollector.StartAsync(vhost);
        var area = Guid.NewGuid();
        using var gateway = service.CreateClient(infra.Tokens.Issue(Roles.Ingest, area, "gateway"));
        var batch = Enumerable.Range(0, 50).Select(_ => SampleRecords.Posted()).ToList();

        broker.Pause();
        using (var refused = await gateway.PostAsJsonAsync($"/api/areas/{area}/call-records", batch))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter is not null, "503 carries Retry-After");
            Assert.Contains("none of it was accepted", await refused.Content.ReadAsStringAsync());
        }

        broker.Resume();
        JsonElement answer = default;
        await Eventually.Until(async () =>
        {
            using var retry = await gateway.PostAsJsonAsync($"/api/areas/{area}/call-records", batch);
            if (retry.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            answer = JsonDocument.Parse(await retry.Content.ReadAsStringAsync()).RootElement.Clone();
            return true;
        }, TimeSpan.FromSeconds(90), "ingest accepts again once the broker is back");

        Assert.Equal(50, answer.GetProperty("accepted").GetInt32());
        Assert.Equal(0, answer.GetProperty("duplicates").GetInt32());
        await Eventually.Until(() => events.Received<CallRecordsIngested>().Sum(b => b.Records.Count) >= 50);
        var uuids = events.Received<CallRecordsIngested>().SelectMany(b => b.Records).Select(r => r.RequestUuid).ToList();
        Assert.Equal(batch.Select(r => (string)r["request_uuid"]!).Order(), uuids.Order());

        using var viewer = service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, area, "viewer"));
        var stored = await Eventually.Get(
            async () => (await viewer.GetFromJsonAsync<JsonElement>($"/api/areas/{area}/call-records?limit=1000")).GetProperty("items").GetArrayLength(),
            count => count == 50);
        Assert.Equal(50, stored);
    }

    [Fact]
    public async Task With_postgresql_unreachable_ingest_answers_503_publishes_nothing_and_the_retried_batch_is_stored_and_published_once()
    {
        var database = new NpgsqlConnectionStringBuilder(await infra.NewDatabaseAsync());
        await using var postgres = await TcpProxy.StartAsync(database.Host!, database.Port);
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        await using var service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = vhost,
            ["ConnectionStrings:ingestdb"] = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = postgres.Port, Timeout = 3 }.ConnectionString,
        });
        await using var events = await EventCollector.StartAsync(vhost);
        var area = Guid.NewGuid();
        using var gateway = service.CreateClient(infra.Tokens.Issue(Roles.Ingest, area, "gateway"));
        var batch = Enumerable.Range(0, 50).Select(_ => SampleRecords.Posted()).ToList();

        postgres.Pause();
        using (var refused = await gateway.PostAsJsonAsync($"/api/areas/{area}/call-records", batch))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter is not null, "503 carries Retry-After");
            Assert.Contains("database could not be reached", await refused.Content.ReadAsStringAsync());
        }

        postgres.Resume();
        var answer = await Eventually.Get(async () =>
        {
            using var retry = await gateway.PostAsJsonAsync($"/api/areas/{area}/call-records", batch);
            return retry.StatusCode == HttpStatusCode.OK ? JsonDocument.Parse(await retry.Content.ReadAsStringAsync()).RootElement.Clone() : (JsonElement?)null;
        }, a => a is not null, TimeSpan.FromSeconds(60));

        Assert.Equal(50, answer!.Value.GetProperty("accepted").GetInt32());
        var marker = SampleRecords.Posted();
        using (var last = await gateway.PostAsJsonAsync($"/api/areas/{area}/call-records", new[] { marker }))
        {
            Assert.Equal(HttpStatusCode.OK, last.StatusCode);
        }

        await Eventually.Until(() => events.Received<CallRecordsIngested>().SelectMany(b => b.Records).Any(r => r.RequestUuid == (string)marker["request_uuid"]!));
        var published = events.Received<CallRecordsIngested>().SelectMany(b => b.Records).Select(r => r.RequestUuid).Where(u => u != (string)marker["request_uuid"]!);
        Assert.Equal(batch.Select(r => (string)r["request_uuid"]!).Order(), published.Order());
        using var viewer = service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, area, "viewer"));
        Assert.Equal(51, (await viewer.GetFromJsonAsync<JsonElement>($"/api/areas/{area}/call-records?limit=1000")).GetProperty("items").GetArrayLength());
    }
}
