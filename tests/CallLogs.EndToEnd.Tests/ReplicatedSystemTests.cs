using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using Aspire.Hosting.Testing;
using CallLogs.Testing;

namespace CallLogs.EndToEnd.Tests;

/// <summary>Two instances of every service: the guarantees hold, and stopping the AppHost leaves nothing behind.</summary>
[Collection(AppHostCollection.Name)]
public sealed class ReplicatedSystemTests
{
    [Fact]
    public async Task With_two_instances_of_every_service_records_are_exported_once_channels_keep_five_connections_and_the_audit_one_record_per_event()
    {
        var system = await AspireSystem.StartAsync(replicas: 2);
        int[] servers;
        try
        {
            var client = new CallLogsClient(system);
            var area = await client.CreateAreaAsync();
            var bucket = await client.NewBucketAsync();
            var hour = new DateTimeOffset(DateTime.UtcNow.Date.AddHours(DateTime.UtcNow.Hour + 1), TimeSpan.Zero);
            var profile = await client.CreateProfileAsync(area, bucket, hour);
            var channel = await client.CreateStreamChannelAsync(area);
            var subscribers = new List<CallLogsClient.Subscriber>();
            for (var i = 0; i < 5; i++)
            {
                subscribers.Add(await CallLogsClient.Subscriber.ConnectAsync(channel));
            }

            await Assert.ThrowsAsync<WebSocketException>(() => CallLogsClient.Subscriber.ConnectAsync(channel));

            // Several batches at once, spread over both ingest instances by the proxy in front of them.
            var batches = Enumerable.Range(0, 8).Select(b => Enumerable.Range(0, 50).Select(i => CallLogsClient.Record(hour.AddSeconds(b * 50 + i))).ToList()).ToList();
            await Task.WhenAll(batches.Select(batch => client.PostRecordsAsync(area, batch)));
            var ids = batches.SelectMany(b => b).Select(r => (string)r["request_uuid"]).ToList();

            var exported = new List<string>();
            await Eventually.Until(async () =>
                {
                    exported = await client.ExportedLinesAsync(bucket, area, profile, hour);
                    var lines = exported.Select(line => line.Split(',')[0]).ToHashSet();
                    return ids.TrueForAll(lines.Contains);
                },
                TimeSpan.FromSeconds(180), "every record exported");
            Assert.All(ids, id => Assert.Single(exported, line => line.Contains(id, StringComparison.Ordinal)));
            foreach (var (subscriber, number) in subscribers.Select((s, i) => (s, i + 1)))
            {
                try
                {
                    await Eventually.Until(() => ids.TrueForAll(subscriber.Received.Contains), TimeSpan.FromSeconds(60), "each subscriber received every record");
                }
                catch (TimeoutException e)
                {
                    var received = subscriber.Received;
                    throw new TimeoutException($"{e.Message} Subscriber {number} of 5: socket {subscriber.State}, " +
                        $"{ids.Count(id => !received.Contains(id, StringComparison.Ordinal))} of {ids.Count} records missing; " +
                        $"its last frames: {received[Math.Max(0, received.Length - 600)..]}", e);
                }

                await subscriber.DisposeAsync();
            }

            await Eventually.Until(async () => (await client.AuditEventsAsync(area, "CreateExportProfile")).Count > 0, TimeSpan.FromSeconds(60), "the creation audited");
            Assert.Single(await client.AuditEventsAsync(area, "CreateExportProfile"));
            servers = await ServerPortsAsync(system);
        }
        finally
        {
            await system.DisposeAsync();
        }

        // The AppHost returns from its stop while DCP still ends the servers: within a minute nothing of the run is left.
        await Eventually.Until(() => ProcessesUsing(system.DataDirectory).Count == 0, TimeSpan.FromSeconds(60), "every server started from the run's folder stopped");
        foreach (var port in servers)
        {
            await Eventually.Until(async () => !await AcceptsAsync(port), TimeSpan.FromSeconds(60), $"nothing listens on port {port} (epmd, Erlang distribution)");
        }
    }

    /// <summary>The ports of RabbitMQ's epmd and Erlang distribution (not proxied: the servers' own).</summary>
    private static Task<int[]> ServerPortsAsync(AspireSystem system) => Task.FromResult(new[]
    {
        system.App.GetEndpoint("messaging-epmd", "tcp").Port,
        system.App.GetEndpoint("messaging", "distribution").Port,
    });

    /// <summary>Processes whose command line names the run's data folder (the servers started from it).</summary>
    private static List<string> ProcessesUsing(string directory) =>
        [.. Process.GetProcesses().Select(p =>
        {
            try
            {
                return File.ReadAllText($"/proc/{p.Id}/cmdline").Replace('\0', ' ');
            }
            catch (IOException)
            {
                return "";
            }
            catch (UnauthorizedAccessException)
            {
                return "";
            }
        }).Where(c => c.Contains(directory, StringComparison.Ordinal))];

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
