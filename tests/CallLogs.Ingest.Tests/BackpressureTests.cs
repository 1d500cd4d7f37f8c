using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Ingest.Backpressure;
using CallLogs.Testing;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace CallLogs.Ingest.Tests;

/// <summary>
/// When a consumer of accepted records falls behind, ingest defers batches with 503 and Retry-After before RabbitMQ
/// fills up, reports the depth as a metric, and takes the same batch once the queue has drained.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class BackpressureTests(Infrastructure infra)
{
    [Fact]
    public async Task A_watched_queue_that_does_not_exist_yet_counts_as_empty_and_batches_are_taken()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        await using var service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = vhost,
            ["Ingest:Backpressure:Queues:0"] = $"never-declared-{Guid.NewGuid():N}",
        });
        var watch = service.Services.GetRequiredService<DownstreamLag>();

        await watch.RunOnceAsync(CancellationToken.None); // threw "Sequence contains no elements" every second before

        var area = Guid.NewGuid();
        using var gateway = service.CreateClient(infra.Tokens.Issue(Roles.Ingest, area, "gateway"));
        using var response = await gateway.PostAsJsonAsync($"/api/areas/{area}/call-records", new[] { SampleRecords.Posted() });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_queue_behind_its_limit_defers_batches_with_503_until_it_drains_below_the_resume_mark()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        var queue = $"slow-consumer-{Guid.NewGuid():N}";
        await using var connection = await new ConnectionFactory { Uri = new Uri(vhost) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false);
        for (var i = 0; i < 5; i++)
        {
            await channel.BasicPublishAsync("", queue, new byte[] { 1 });
        }

        using var depths = new Measurements("calllogs.ingest.downstream_queue_depth");

        await using var service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = vhost,
            ["Ingest:Backpressure:Queues:0"] = queue,
            ["Ingest:Backpressure:MaxQueuedMessages"] = "4",
            ["Ingest:Backpressure:ResumeQueuedMessages"] = "1",
            ["Ingest:Backpressure:PollInterval"] = "00:00:00.200",
            ["Ingest:Backpressure:RetryAfter"] = "00:00:07",
        });
        await using var events = await EventCollector.StartAsync(vhost);
        var area = Guid.NewGuid();
        using var gateway = service.CreateClient(infra.Tokens.Issue(Roles.Ingest, area, "gateway"));
        var batch = Enumerable.Range(0, 20).Select(_ => SampleRecords.Posted()).ToList();

        var deferred = await Eventually.Get(async () =>
        {
            using var response = await gateway.PostAsJsonAsync($"/api/areas/{area}/call-records", batch);
            return (response.StatusCode, RetryAfter: response.Headers.RetryAfter?.Delta, Body: await response.Content.ReadAsStringAsync());
        }, r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(7), deferred.RetryAfter);
        var problem = JsonDocument.Parse(deferred.Body).RootElement;
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.Contains("none of this batch was accepted", problem.GetProperty("detail").GetString());
        depths.Observe();
        Assert.Contains(depths.Values, v => v.Value == 5 && Equals(v.Tags["queue"], queue));

        // Drained to 2: still above the resume mark, so still deferred; nothing of the batch went anywhere.
        for (var i = 0; i < 3; i++)
        {
            Assert.NotNull(await channel.BasicGetAsync(queue, autoAck: true));
        }

        await Eventually.Until(() =>
        {
            depths.Observe();
            return Task.FromResult(depths.Values.Any(v => v.Value == 2 && Equals(v.Tags["queue"], queue)));
        });
        using (var stillDeferred = await gateway.PostAsJsonAsync($"/api/areas/{area}/call-records", batch))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, stillDeferred.StatusCode);
        }

        await channel.QueuePurgeAsync(queue);
        var accepted = await Eventually.Get(async () =>
        {
            using var response = await gateway.PostAsJsonAsync($"/api/areas/{area}/call-records", batch);
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }, r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(20, JsonDocument.Parse(accepted.Body).RootElement.GetProperty("accepted").GetInt32());
        await Eventually.Until(() => events.Received<CallRecordsIngested>().Sum(b => b.Records.Count) >= 20);
        Assert.Equal(20, events.Received<CallRecordsIngested>().Sum(b => b.Records.Count));
    }
}
