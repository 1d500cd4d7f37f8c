using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Stream.Domain;
using CallLogs.Stream.Subscriptions;
using CallLogs.Testing;
using CsCheck;

namespace CallLogs.Stream.Tests;

public sealed class StreamRulesTests
{
    [Theory]
    [InlineData("0123456789", 3, "012****789")]
    [InlineData("0123456789", 0, "**********")]
    [InlineData("012345", 3, "******")]
    [InlineData("0123456", 3, "012*456")]
    [InlineData("ab", 1, "**")]
    [InlineData("-", 3, "-")]
    [InlineData("", 3, "")]
    [InlineData(null, 3, null)]
    public void Masking_keeps_n_characters_at_each_end_and_never_shows_a_short_secret_whole(string? value, int keep, string? expected) =>
        Assert.Equal(expected, Masking.Mask(value, keep));

    [Fact]
    public void A_frame_carries_every_value_as_a_string_with_ingestion_time_and_unknown_fields()
    {
        var record = new CallRecord
        {
            RequestUuid = "u-1",
            RequestTime = new DateTimeOffset(2019, 4, 19, 21, 56, 43, TimeSpan.Zero),
            ApiKey = "0123456789",
            HttpStatusCode = 200,
            CacheHit = false,
            TotalRequestExecTime = 0.25,
            IngestionTime = 1700000000123,
            Extra = new()
            {
                ["log_type"] = JsonDocument.Parse("\"call\"").RootElement,
                ["n"] = JsonDocument.Parse("1e3").RootElement,
                ["nested"] = JsonDocument.Parse("{\n    \"a\" : [1, \"\\u2028\", null],\n    \"b\": {\"c\": \"caf\u00e9 <&>\"}\n}").RootElement,
            },
        };

        using var frame = JsonDocument.Parse(Frames.Data([record], maskKeep: 3));
        var item = frame.RootElement.GetProperty("data")[0];

        Assert.All(item.EnumerateObject(), p => Assert.Equal(JsonValueKind.String, p.Value.ValueKind));
        Assert.Equal("2019-04-19T21:56:43Z", item.GetProperty("request_time").GetString());
        Assert.Equal("200", item.GetProperty("http_status_code").GetString());
        Assert.Equal("false", item.GetProperty("cache_hit").GetString());
        Assert.Equal("1700000000123", item.GetProperty("ingestion_time").GetString());
        Assert.Equal("012****789", item.GetProperty("api_key").GetString());
        Assert.Equal("call", item.GetProperty("log_type").GetString());
        Assert.Equal("1e3", item.GetProperty("n").GetString());
        Assert.Equal("""{"a":[1,"\u2028",null],"b":{"c":"café <&>"}}""", item.GetProperty("nested").GetString());
    }
}

public sealed class SubscriberBufferTests
{
    private static CallRecord[] Records(int count) =>
        Enumerable.Range(0, count).Select(_ => new CallRecord { RequestUuid = Guid.NewGuid().ToString(), RequestTime = DateTimeOffset.UtcNow }).ToArray();

    private static (Subscriber Subscriber, List<string> Sent, TaskCompletionSource Release) Start(int maxRecords, long maxBytes)
    {
        var sent = new List<string>();
        var release = new TaskCompletionSource();
        var subscriber = new Subscriber(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), null, maxRecords, maxBytes,
            async (frame, ct) =>
            {
                await release.Task.WaitAsync(ct);
                lock (sent)
                {
                    sent.Add(frame);
                }
            },
            _ => Task.CompletedTask);
        return (subscriber, sent, release);
    }

    [Fact]
    public async Task Dropped_records_are_named_in_a_missed_frame_exactly_where_the_gap_is()
    {
        var (subscriber, sent, release) = Start(maxRecords: 3, maxBytes: 1 << 20);
        var sender = subscriber.RunSenderAsync();
        var first = Records(2);
        var dropped = Records(2);
        var after = Records(1);
        Assert.True(subscriber.Offer(Frames.Data(first, null), first));
        Assert.False(subscriber.Offer(Frames.Data(dropped, null), dropped));
        Assert.True(subscriber.Offer(Frames.Data(after, null), after));
        release.SetResult();
        await Eventually.Until(() => { lock (sent) { return sent.Count == 3; } });
        await subscriber.CloseAsync("done");
        await sender;

        Assert.Contains(first[0].RequestUuid, sent[0]);
        var missed = JsonDocument.Parse(sent[1]).RootElement;
        Assert.Equal(2, missed.GetProperty("missed").GetInt32());
        Assert.Equal(dropped.Select(r => r.RequestUuid), missed.GetProperty("request_uuids").EnumerateArray().Select(u => u.GetString()));
        Assert.Contains(after[0].RequestUuid, sent[2]);
        Assert.Equal(2, subscriber.MissedTotal);
    }

    [Fact]
    public void The_buffer_is_bounded_in_bytes_as_well_as_in_records()
    {
        var (subscriber, _, _) = Start(maxRecords: 1_000_000, maxBytes: 64 * 1024);
        var big = Records(1) is var r ? r.Select(x => x with { UserAgent = new string('a', 20_000) }).ToArray() : [];
        var taken = Enumerable.Range(0, 10).Count(_ => subscriber.Offer(Frames.Data(big, null), big));
        Assert.InRange(taken, 1, 2);
    }

    [Fact]
    public void Any_sequence_of_offers_either_queues_a_frame_or_names_every_dropped_record()
    {
        Gen.Int[1, 20].Array[1, 30].Sample(sizes =>
        {
            var (subscriber, _, _) = Start(maxRecords: 25, maxBytes: 1 << 20);
            var dropped = 0;
            foreach (var size in sizes)
            {
                var records = Records(size);
                dropped += subscriber.Offer(Frames.Data(records, null), records) ? 0 : size;
            }

            Assert.Equal(dropped, subscriber.MissedTotal);
            Assert.True(sizes.Sum() - dropped <= 25 || sizes.Length > 0);
        }, iter: 300);
    }
}
