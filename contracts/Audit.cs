using System.Text.Json.Nodes;

namespace CallLogs.Contracts;

public sealed record AuditUserIdentity
{
    /// <summary>PlatformAdmin, AreaAdmin, AreaViewer, Ingest or Anonymous.</summary>
    public required string Type { get; init; }
    public string? PrincipalId { get; init; }
    public string? UserName { get; init; }
    public Guid? AreaId { get; init; }
    /// <summary>The id of the token the caller presented (its <c>jti</c>).</summary>
    public string? AccessKeyId { get; init; }
}

public sealed record AuditResource
{
    public required string Type { get; init; }
    public required string Name { get; init; }
}

/// <summary>One management call, in the shape of a CloudTrail event record.</summary>
public sealed record AuditEventRecorded
{
    public required string EventVersion { get; init; }
    public required Guid EventId { get; init; }
    public required DateTimeOffset EventTime { get; init; }
    public required string EventSource { get; init; }
    public required string EventName { get; init; }
    public required string Region { get; init; }
    public required AuditUserIdentity UserIdentity { get; init; }
    public string? SourceIpAddress { get; init; }
    public string? UserAgent { get; init; }
    public JsonObject? RequestParameters { get; init; }
    public JsonNode? ResponseElements { get; init; }
    public required string RequestId { get; init; }
    public required bool ReadOnly { get; init; }
    public required string EventType { get; init; }
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
    public required IReadOnlyList<AuditResource> Resources { get; init; }
    public Guid? RecipientAreaId { get; init; }
    public required int HttpStatusCode { get; init; }
}
