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
}

/// <summary>Endpoint metadata: this endpoint is a bulk data path (call records, stream frames), not a management call.</summary>
public sealed class ExcludeFromAuditMetadata
{
    public static readonly ExcludeFromAuditMetadata Instance = new();
}

/// <summary>Where a service keeps the events it captures until they are published: its outbox.</summary>
public interface IAuditEventWriter
{
    Task WriteAsync(CallLogs.Contracts.AuditEventRecorded auditEvent, CancellationToken cancellationToken);
}
