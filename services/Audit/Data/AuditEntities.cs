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
    /// <summary>The log file this event is delivered in; set once, in the transaction that creates the file.</summary>
    public long? LogFileId { get; set; }
}

/// <summary>A log file: its events are fixed when the row is created, its content and key never change after.</summary>
public sealed class LogFile
{
    public long Id { get; set; }
    public required string AreaKey { get; set; }
    public required string Key { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public int EventCount { get; set; }
    public DateTimeOffset OldestEventTime { get; set; }
    public DateTimeOffset NewestEventTime { get; set; }
    /// <summary>Hex SHA-256 of the uncompressed content, once uploaded.</summary>
    public string? Sha256 { get; set; }
    public DateTimeOffset? UploadedAt { get; set; }
}

/// <summary>An hourly digest of an area: the log files created in [PeriodStart, PeriodEnd), chained to the previous digest.</summary>
public sealed class Digest
{
    public long Id { get; set; }
    public required string AreaKey { get; set; }
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
