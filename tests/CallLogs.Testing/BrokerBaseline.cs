using System.Diagnostics;
using CallLogs.Contracts;
using MassTransit;

namespace CallLogs.Testing;

/// <summary>The raw broker baseline of the benchmarks (each in its own virtual host, deleted afterwards).</summary>
public static class BrokerBaseline
{
    /// <summary>
    /// Ingest's batch messages published (with confirms, <paramref name="concurrency"/> at a time) and consumed in one
    /// process, nothing else done: the raw broker rate benchmarks compare with, in records per second.
    /// </summary>
    public static async Task<double> RecordsPerSecondAsync(Infrastructure infra, Guid area, IReadOnlyList<List<CallRecord>> batches, int concurrency)
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        var received = 0;
        var total = batches.Sum(b => b.Count);
        var done = new TaskCompletionSource();
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(new Uri(vhost));
            rabbit.ReceiveEndpoint("bench-baseline", e => e.Handler<CallRecordsIngested>(context =>
            {
                if (Interlocked.Add(ref received, context.Message.Records.Count) >= total)
                {
                    done.TrySetResult();
                }

                return Task.CompletedTask;
            }));
        });
        await bus.StartAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < batches.Count)
                {
                    await bus.Publish(new CallRecordsIngested { BatchId = Guid.NewGuid(), AreaId = area, AcceptedAt = DateTimeOffset.UtcNow, Records = batches[i] });
                }
            }));
            await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
            return total / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            await bus.StopAsync();
            await infra.DeleteRabbitMqVirtualHostAsync(vhost);
        }
    }
}
