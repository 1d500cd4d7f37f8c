using System.ComponentModel.DataAnnotations;

namespace CallLogs.Ingest.Extensions;

public sealed class IngestOptions
{
    public const string SectionName = "Ingest";

    /// <summary>Most records one POST may carry.</summary>
    [Range(1, 1_000_000)]
    public int MaxBatchRecords { get; set; } = 10_000;

    /// <summary>Largest request body, in bytes.</summary>
    [Range(1024, 1L << 31)]
    public long MaxBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How far in the future a request_time may be (gateway clocks drift).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Records per broker message: a batch goes on as messages of at most this many records.</summary>
    [Range(1, 50_000)]
    public int RecordsPerMessage { get; set; } = 1_000;

    /// <summary>
    /// Bytes per broker message, counted as the records' stored JSON: a batch goes on as messages of at most this much
    /// (a record larger than it goes alone), so that large records do not make messages of tens of megabytes.
    /// </summary>
    [Range(64 * 1024, 64L * 1024 * 1024)]
    public long MaxMessageBytes { get; set; } = 2L * 1024 * 1024;

    /// <summary>How long the broker has to confirm a batch before the caller gets 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long call records are kept in an area without a setting of its own; at most <see cref="MaxRetentionDays"/>.</summary>
    [Range(1, MaxRetentionDays)]
    public int DefaultRetentionDays { get; set; } = 30;

    /// <summary>The longest retention an area may set, in days: about two years.</summary>
    public const int MaxRetentionDays = 731;

    /// <summary>Characters of api_key and oauth_access_token left unmasked at each end for area viewers (0 masks all).</summary>
    [Range(0, 127)]
    public int ViewerUnmaskedCharacters { get; set; } = 4;

    /// <summary>How often expired partitions and rows are removed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);
}
