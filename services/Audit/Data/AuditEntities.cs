namespace CallLogs.Audit.Data;

/// <summary>One stored event; <see cref="Record"/> is its CloudTrail-shaped JSON, the other columns are for lookup and delivery.</summary>
public sealed class StoredEvent
{
    public Guid EventId { get; set; }
    /// <summary>Insertion order, the tie-break of the lookup order and of the files' content.</summary>
    public long Seq { get; set; }
    public DateTimeOffset EventTime { get; set; }
    /// <summary>The area's id, or <see cref="Domain.AreaKeys.Platform"/> for calls outside any area.</summary>
    public required string AreaKey { get; set; }
    public Guid? AreaId { get; set; }
    public required string EventSource { get; set; }
    public required string EventName { get; set; }
    public string? UserName { get; set; }
    public string? AccessKeyId { get; set; }
    public bool ReadOnly { get; set; }
    public string[] ResourceTypes { get; set; } = [];
    public string[] ResourceNames { get; set; } = [];
    public required string Record { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    /// <summary>The platform trail's log file this event is delivered in; set once, in the transaction that creates the file.</summary>
    public long? LogFileId { get; set; }
    /// <summary>The area's own trail, when it was logging as the event was stored: the event is delivered there too.</summary>
    public Guid? AreaTrailId { get; set; }
    /// <summary>The area trail's log file this event is delivered in.</summary>
    public long? AreaLogFileId { get; set; }
}

/// <summary>A log file: its events, bucket and key are fixed when the row is created, its content never changes after.</summary>
public sealed class LogFile
{
    public long Id { get; set; }
    public required string AreaKey { get; set; }
    /// <summary>The area trail it belongs to; null for the platform trail.</summary>
    public Guid? TrailId { get; set; }
    /// <summary>The area trail's bucket; null for the platform trail's (<see cref="AuditOptions.Bucket"/>).</summary>
    public string? Bucket { get; set; }
    public required string Key { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public int EventCount { get; set; }
    public DateTimeOffset OldestEventTime { get; set; }
    public DateTimeOffset NewestEventTime { get; set; }
    /// <summary>Hex SHA-256 of the uncompressed content, once uploaded.</summary>
    public string? Sha256 { get; set; }
    public DateTimeOffset? UploadedAt { get; set; }
    /// <summary>Failed uploads so far; the next is not tried before <see cref="NextAttemptAt"/>.</summary>
    public int Attempts { get; set; }
    public DateTimeOffset? NextAttemptAt { get; set; }
    public string? LastError { get; set; }
}

/// <summary>An hourly digest of an area in a trail: the log files created in [PeriodStart, PeriodEnd), chained to the previous digest.</summary>
public sealed class Digest
{
    public long Id { get; set; }
    public required string AreaKey { get; set; }
    /// <summary>The area trail it belongs to; null for the platform trail.</summary>
    public Guid? TrailId { get; set; }
    /// <summary>The area trail's bucket; null for the platform trail's (<see cref="AuditOptions.Bucket"/>).</summary>
    public string? Bucket { get; set; }
    public DateTimeOffset PeriodStart { get; set; }
    public DateTimeOffset PeriodEnd { get; set; }
    public required string Key { get; set; }
    public required string Sha256 { get; set; }
    public required string Signature { get; set; }
    public required string KeyFingerprint { get; set; }
    public string? PreviousKey { get; set; }
    public string? PreviousSha256 { get; set; }
    public string? PreviousSignature { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>An area the trail knows: digests are written for it every hour from <see cref="FirstSeen"/> on.</summary>
public sealed class TrailArea
{
    public required string AreaKey { get; set; }
    public DateTimeOffset FirstSeen { get; set; }
}

/// <summary>A public key that has signed digests; kept so old digests stay verifiable after a key change.</summary>
public sealed class SigningKey
{
    public required string Fingerprint { get; set; }
    public required string PublicKeyPem { get; set; }
    public DateTimeOffset FirstUsed { get; set; }
}

/// <summary>
/// An area's own trail: the area's events delivered to a bucket the area admin chose, with its own signed digest chain.
/// The platform trail keeps every event as well.
/// </summary>
public sealed class AreaTrail
{
    public Guid Id { get; set; }
    public Guid AreaId { get; set; }
    public required string Bucket { get; set; }
    /// <summary>The path the admin gave after the bucket name, before <c>AuditLogs/</c> (empty for none).</summary>
    public required string Prefix { get; set; }
    public string? IamRoleArn { get; set; }
    public string? CmkKeyArn { get; set; }
    /// <summary>Sent to STS when assuming <see cref="IamRoleArn"/>; never shown in full nor recorded (see docs/audit-trail.md).</summary>
    public string? IamRoleExternalId { get; set; }
    public bool IsLogging { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? StartedLoggingAt { get; set; }
    public DateTimeOffset? StoppedLoggingAt { get; set; }
    public DateTimeOffset? LatestDeliveryAt { get; set; }
    public DateTimeOffset? LatestDeliveryAttemptAt { get; set; }
    public string? LatestDeliveryError { get; set; }
    public DateTimeOffset? LatestDigestAt { get; set; }
    public string? LatestDigestError { get; set; }

    public bool Encrypts => IamRoleArn is not null;
}
