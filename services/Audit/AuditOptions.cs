using System.ComponentModel.DataAnnotations;

namespace CallLogs.Audit;

/// <summary>Settings of the audit service (section <c>Audit</c>; <c>Audit:Region</c> is shared with the capture).</summary>
public sealed class AuditOptions : IValidatableObject
{
    public const string SectionName = "Audit";

    [Required]
    public string Region { get; set; } = "local";

    /// <summary>The bucket of the platform trail (every event; area trails go to the buckets their areas chose).</summary>
    [Required]
    public string Bucket { get; set; } = "calllogs-audit";

    /// <summary>Optional key prefix before <c>AuditLogs/</c>.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Creates the bucket when it does not exist (local runs and tests).</summary>
    public bool CreateBucket { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan DeliveryInterval { get; set; } = TimeSpan.FromMinutes(5);

    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>At most this many events go into one log file; more make more files.</summary>
    [Range(1, 100_000)]
    public int MaxEventsPerFile { get; set; } = 10_000;

    /// <summary>How long one log file's upload may take before it counts as failed and waits for a retry.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan UploadTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>STS endpoint for AssumeRole when an area trail writes with SSE-KMS (empty: AWS's regional endpoint).</summary>
    public string? StsEndpoint { get; set; }

    /// <summary>PEM of the RSA private key that signs digests. Without it, a key is generated at start (local runs, tests).</summary>
    public string? SigningKeyPem { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Region.Contains('/') || Region.Contains('_'))
        {
            yield return new ValidationResult("Audit:Region must not contain '/' or '_' (it is part of the log file keys).", [nameof(Region)]);
        }

        if (Prefix.StartsWith('/') || Prefix.EndsWith('/'))
        {
            yield return new ValidationResult("Audit:Prefix must not start or end with '/'; write e.g. 'audit' or 'org/audit'.", [nameof(Prefix)]);
        }
    }
}
