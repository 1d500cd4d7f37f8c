using System.ComponentModel.DataAnnotations;

namespace CallLogs.Ingest.Backpressure;

/// <summary>
/// When ingest stops taking batches because the consumers of what it accepted are behind. A queue's depth counts its
/// messages (each at most <c>Ingest:RecordsPerMessage</c> records and <c>Ingest:MaxMessageBytes</c> bytes) that no
/// consumer has taken yet.
/// </summary>
public sealed class BackpressureOptions : IValidatableObject
{
    public const string SectionName = "Ingest:Backpressure";

    /// <summary>
    /// The queues whose consumers must keep up (appsettings.json names export's staging queue; a setting
    /// <c>Ingest__Backpressure__Queues__0</c> replaces it); none turns backpressure off.
    /// </summary>
    public string[] Queues { get; set; } = [];

    /// <summary>A watched queue this deep stops ingest from taking batches.</summary>
    [Range(1, 10_000_000)]
    public long MaxQueuedMessages { get; set; } = 1_000;

    /// <summary>Ingest takes batches again once every watched queue is this shallow.</summary>
    [Range(0, 10_000_000)]
    public long ResumeQueuedMessages { get; set; } = 500;

    /// <summary>How often the depths are read from RabbitMQ.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>What a deferred gateway is told to wait (Retry-After).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ResumeQueuedMessages >= MaxQueuedMessages)
        {
            yield return new ValidationResult($"ResumeQueuedMessages ({ResumeQueuedMessages}) must be below MaxQueuedMessages ({MaxQueuedMessages}).",
                [nameof(ResumeQueuedMessages)]);
        }
    }
}
