using System.ComponentModel.DataAnnotations;

namespace CallLogs.ServiceDefaults.Audit;

public sealed class AuditCaptureOptions
{
    public const string SectionName = "Audit";

    /// <summary>The region written in every event (CloudTrail's awsRegion).</summary>
    [Required]
    public string Region { get; set; } = "local";

    /// <summary>Requests under this path are management calls and are recorded (unless their endpoint opts out).</summary>
    [Required]
    public string ApiPathPrefix { get; set; } = "/api";

    /// <summary>
    /// Reads (GET, HEAD) under these paths are monitoring, not management calls: the operators' dashboard polls them
    /// every few seconds. Changes under them are still recorded. <c>/health</c>, <c>/alive</c> and <c>/metrics</c> are
    /// outside <see cref="ApiPathPrefix"/> and never recorded.
    /// </summary>
    public string[] MonitoringPathPrefixes { get; set; } = ["/api/ops"];

    /// <summary>
    /// Refused calls without a valid token or into an area the caller may not reach, recorded per source address and
    /// minute; more are only counted (metric <c>calllogs.audit.untrusted_calls</c>, and the next recorded one says how many).
    /// </summary>
    [Range(1, 100_000)]
    public int UntrustedEventsPerSourcePerMinute { get; set; } = 30;
}
