namespace CallLogs.Telephony.Domain;

/// <summary>Which rows a batch generation reads (the same rule the database query applies).</summary>
public static class CelSelection
{
    /// <summary>SIP chat messages are not calls.</summary>
    public const string ChatChannel = "Message/ast_msg_queue";

    /// <summary>
    /// The <paramref name="count"/> newest unprocessed rows, widened to whole calls: every row of every
    /// linkedid that one of their channels (uniqueids) took part in, processed or not.
    /// </summary>
    public static IReadOnlyList<CelRow> LastUnprocessed(IReadOnlyList<CelRow> rows, ISet<long> processed, int count)
    {
        var uniqueIds = rows
            .Where(r => !processed.Contains(r.Id) && r.ChanName != ChatChannel)
            .OrderByDescending(r => r.EventTime).ThenByDescending(r => r.Id)
            .Take(count)
            .Select(r => r.UniqueId).ToHashSet();
        var linkedIds = rows.Where(r => uniqueIds.Contains(r.UniqueId)).Select(r => r.LinkedId).ToHashSet();
        return rows.Where(r => linkedIds.Contains(r.LinkedId)).ToList();
    }
}
