namespace CallLogs.Ingest.Domain;

/// <summary>
/// How an accepted batch goes on to the broker: in order, as messages of at most <c>maxRecords</c> records whose stored
/// JSON adds up to at most <c>maxBytes</c>; a record larger than that goes alone. Bounded by count alone, a batch of
/// large records (up to <see cref="CallRecordParser.MaxRecordBytes"/> each) made one message of tens of megabytes,
/// which every consumer holds whole in memory, several copies at once, and which a broker may refuse outright.
/// </summary>
public static class MessageChunks
{
    /// <summary>The index ranges of <paramref name="sizes"/> (each record's size in bytes) that go as one message each.</summary>
    public static IEnumerable<Range> Split(IReadOnlyList<int> sizes, int maxRecords, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        var start = 0;
        long bytes = 0;
        for (var i = 0; i < sizes.Count; i++)
        {
            if (i > start && (i - start == maxRecords || bytes + sizes[i] > maxBytes))
            {
                yield return start..i;
                start = i;
                bytes = 0;
            }

            bytes += sizes[i];
        }

        if (sizes.Count > start)
        {
            yield return start..sizes.Count;
        }
    }
}
