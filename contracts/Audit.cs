using System.Text.Json.Nodes;

namespace CallLogs.Contracts;

public sealed record AuditUserIdentity
{
    /// <summary>PlatformAdmin, AreaAdmin, AreaViewer, Ingest, Operator, or Anonymous (no valid token).</summary>
    public required string Type { get; init; }
    public string? PrincipalId { get; init; }
    public string? UserName { get; init; }
    /// <summary>The area the caller's token is for; none for platform roles.</summary>
    public Guid? AreaId { get; init; }
    /// <summary>The id of the token the caller presented (its <c>jti</c>); an identifier, not the token.</summary>
    public string? AccessKeyId { get; init; }
    /// <summary>When the caller's token was issued (its <c>iat</c>).</summary>
    public DateTimeOffset? TokenIssuedAt { get; init; }
}

/// <summary>A resource a call names: its kind from the route (<c>ExportProfile</c>, <c>StreamChannelToken</c>...) and its id.</summary>
public sealed record AuditResource
{
    public required string Type { get; init; }
    public required string Name { get; init; }
}

/// <summary>The TLS of the caller's connection, when it came over TLS.</summary>
public sealed record AuditTlsDetails
{
    public string? TlsVersion { get; init; }
    public string? CipherSuite { get; init; }
    public string? ClientProvidedHostHeader { get; init; }
}

/// <summary>
/// One management call as the service saw it. The audit service turns it into a CloudTrail record (field names,
/// ARNs, identity); fields added after the first version are optional, so events still in an outbox keep working.
/// </summary>
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
    /// <summary>
    /// The area whose trail receives the event: only an area the authenticated caller may reach. Calls without a
    /// valid token and calls into another area have none: they belong to the platform trail.
    /// </summary>
    public Guid? RecipientAreaId { get; init; }
    public required int HttpStatusCode { get; init; }
    /// <summary>What the capture adds beyond CloudTrail's fields (the area a refused caller asked for, replaced characters...).</summary>
    public JsonObject? AdditionalEventData { get; init; }
    public AuditTlsDetails? TlsDetails { get; init; }
}
