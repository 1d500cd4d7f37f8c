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

    /// <summary>
    /// Ingest's batch messages published at a steady <paramref name="recordsPerSecond"/> (<see cref="Paced"/>) and consumed
    /// in one process, nothing else done: the raw broker latency benchmarks compare with. Each record's ingestion_time is
    /// set as its batch is published; returns, in milliseconds, consume time − that time for every record published
    /// after <paramref name="warmUp"/> (JIT, connections and the queue's first messages are not counted).
    /// </summary>
    public static async Task<List<double>> LatenciesAsync(Infrastructure infra, int recordsPerSecond, int batchSize, TimeSpan warmUp, TimeSpan measured,
        Func<int, List<CallRecord>> makeBatch)
    {
        var measureFrom = long.MaxValue;
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        var latencies = new List<double>();
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(new Uri(vhost));
            rabbit.ReceiveEndpoint("bench-latency", e => e.Handler<CallRecordsIngested>(context =>
            {
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                lock (latencies)
                {
                    latencies.AddRange(context.Message.Records.Where(r => r.IngestionTime >= Volatile.Read(ref measureFrom)).Select(r => (double)(now - r.IngestionTime)));
                }

                return Task.CompletedTask;
            }));
        });
        await bus.StartAsync();
        try
        {
            var area = Guid.NewGuid();
            Task Publish(List<CallRecord> batch)
            {
                var now = DateTimeOffset.UtcNow;
                return bus.Publish(new CallRecordsIngested
                {
                    BatchId = Guid.NewGuid(),
                    AreaId = area,
                    AcceptedAt = now,
                    Records = batch.Select(r => r with { IngestionTime = now.ToUnixTimeMilliseconds() }).ToList(),
                });
            }

            await Paced.RunAsync(recordsPerSecond, batchSize, warmUp, makeBatch, Publish);
            Volatile.Write(ref measureFrom, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var sent = await Paced.RunAsync(recordsPerSecond, batchSize, measured, makeBatch, Publish);
            await Eventually.Until(() => { lock (latencies) { return latencies.Count >= sent; } }, TimeSpan.FromSeconds(60), "every measured record consumed");
            return latencies;
        }
        finally
        {
            await bus.StopAsync();
            await infra.DeleteRabbitMqVirtualHostAsync(vhost);
        }
    }
}

/// <summary>Batches sent at a steady rate, on a schedule (a late batch does not move the ones after it).</summary>
public static class Paced
{
    /// <summary>
    /// Sends <c>makeBatch(i)</c> for i = 0, 1, ... every <paramref name="batchSize"/> ÷ <paramref name="recordsPerSecond"/>
    /// seconds for <paramref name="duration"/>, without waiting for one send before the next; returns how many records went out.
    /// </summary>
    public static async Task<int> RunAsync(int recordsPerSecond, int batchSize, TimeSpan duration, Func<int, List<CallRecord>> makeBatch,
        Func<List<CallRecord>, Task> send)
    {
        var interval = TimeSpan.FromSeconds(batchSize / (double)recordsPerSecond);
        var clock = Stopwatch.StartNew();
        var inFlight = new List<Task>();
        var count = 0;
        for (var i = 0; clock.Elapsed < duration; i++)
        {
            var due = interval * i;
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            var batch = makeBatch(i);
            count += batch.Count;
            inFlight.Add(send(batch));
            inFlight.RemoveAll(t => t.IsCompletedSuccessfully);
        }

        await Task.WhenAll(inFlight);
        return count;
    }
}
