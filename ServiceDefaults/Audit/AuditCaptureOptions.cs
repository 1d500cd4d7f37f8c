using System.ComponentModel.DataAnnotations;
using CallLogs.Contracts;
using Npgsql;

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

/// <summary>Endpoint metadata: this endpoint is a bulk data path (call records, stream frames), not a management call.</summary>
public sealed class ExcludeFromAuditMetadata
{
    public static readonly ExcludeFromAuditMetadata Instance = new();
}

/// <summary>Endpoint metadata: the kind of resource whose <c>id</c> the endpoint answers with.</summary>
public sealed record AuditResourceMetadata(string Kind);

/// <summary>Where a service keeps the events it captures until they are published: its outbox.</summary>
public interface IAuditEventWriter
{
    /// <summary>Writes the event in <paramref name="transaction"/> (committed by its owner), or on its own when none is given.</summary>
    Task WriteAsync(AuditEventRecorded auditEvent, NpgsqlTransaction? transaction, CancellationToken cancellationToken);
}
