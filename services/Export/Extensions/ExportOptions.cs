using System.ComponentModel.DataAnnotations;

namespace CallLogs.Export.Extensions;

public sealed class ExportOptions
{
    public const string SectionName = "Export";

    /// <summary>How often hours are planned and pending objects uploaded.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>An hour is written once it has ended plus this grace for late records.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Records later than this after their hour are refused (counted and logged), never silently dropped.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "90.00:00:00")]
    public TimeSpan MaxLateness { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long an object that cannot be written (its bucket gone, access denied) is retried before it is given up,
    /// logged and counted, so its staged records can be dropped: staging never grows without bound.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "90.00:00:00")]
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How many objects are written and uploaded at once.</summary>
    [Range(1, 16)]
    public int UploadConcurrency { get; set; } = 2;

    /// <summary>Objects larger than this (gzip bytes) go up as a multipart upload.</summary>
    [Range(0, 5L * 1024 * 1024 * 1024)]
    public long MultipartThreshold { get; set; } = 64L * 1024 * 1024;

    /// <summary>Part size of multipart uploads (S3 takes 5 MiB to 5 GiB).</summary>
    [Range(5L * 1024 * 1024, 5L * 1024 * 1024 * 1024)]
    public long PartSize { get; set; } = 16L * 1024 * 1024;

    /// <summary>STS endpoint for AssumeRole when a profile encrypts (empty: AWS's regional endpoint).</summary>
    public string? StsEndpoint { get; set; }
}
