using CallLogs.Ingest.Domain;
using CsCheck;

namespace CallLogs.Ingest.Tests;

/// <summary>How an accepted batch is cut into broker messages: by records and by bytes.</summary>
public sealed class MessageChunksTests
{
    [Fact]
    public void Small_records_go_by_count_and_large_ones_by_bytes()
    {
        Assert.Equal(new[] { 0..1000, 1000..2000, 2000..2500 }, MessageChunks.Split(Enumerable.Repeat(1_500, 2500).ToArray(), 1000, 4 << 20));
        Assert.Equal(new[] { 0..4, 4..8, 8..10 }, MessageChunks.Split(Enumerable.Repeat(60_000, 10).ToArray(), 1000, 250_000));
    }

    [Fact]
    public void A_record_larger_than_a_message_goes_alone_and_an_empty_batch_is_no_message()
    {
        Assert.Equal(new[] { 0..1, 1..2, 2..4 }, MessageChunks.Split([10, 500, 10, 10], 1000, 100));
        Assert.Empty(MessageChunks.Split([], 1000, 100));
    }

    [Fact]
    public void Every_record_goes_once_in_order_within_both_limits_and_no_message_could_have_taken_the_next_record()
    {
        var batches = Gen.Select(Gen.Int[0, 70_000].Array[0, 300], Gen.Int[1, 50], Gen.Long[1, 300_000]);
        batches.Sample((sizes, maxRecords, maxBytes) =>
        {
            var ranges = MessageChunks.Split(sizes, maxRecords, maxBytes).ToList();
            var next = 0;
            foreach (var range in ranges)
            {
                var (start, count) = range.GetOffsetAndLength(sizes.Length);
                var bytes = sizes.Skip(start).Take(count).Sum(s => (long)s);
                if (start != next || count < 1 || count > maxRecords || (count > 1 && bytes > maxBytes))
                {
                    return false;
                }

                // Greedy: a message ends only where the next record would break a limit.
                next = start + count;
                if (next < sizes.Length && count < maxRecords && bytes + sizes[next] <= maxBytes)
                {
                    return false;
                }
            }

            return next == sizes.Length;
        });
    }
}
