using System.ComponentModel.DataAnnotations;

namespace CallLogs.ServiceDefaults.Outbox;

public sealed class OutboxOptions
{
    public const string SectionName = "Outbox";

    /// <summary>How often the relay looks for rows when nothing woke it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 100;

    /// <summary>How long one publish may wait for the broker's confirm before the batch is retried.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Failed publishes of one row after which the relay tries the rows after it; if one of those publishes, the broker
    /// is refusing that row alone and it is parked (<see cref="OutboxMessage.ParkedAt"/>). In an outage nothing
    /// publishes, so nothing is parked.
    /// </summary>
    [Range(1, 1_000)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>Published rows are kept this long, then removed.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan KeepPublished { get; set; } = TimeSpan.FromDays(7);
}
