namespace CallLogs.Export.Data;

/// <summary>The export service's copy of a profile (the latest version it saw).</summary>
public sealed class ProfileCopy
{
    public Guid Id { get; set; }
    public Guid AreaId { get; set; }
    public long Version { get; set; }
    public bool Enabled { get; set; }
    public bool Deleted { get; set; }
    /// <summary>The <see cref="CallLogs.Contracts.ExportProfileSnapshot"/> as JSON.</summary>
    public required string Snapshot { get; set; }
    /// <summary>The last closed hour that has its first object planned.</summary>
    public DateTimeOffset? LastHourPlanned { get; set; }
    /// <summary>Staged records received before this were all considered for this profile (minus a safety overlap).</summary>
    public DateTimeOffset ReceivedWatermark { get; set; }
}

/// <summary>A stretch of time a profile was enabled: records whose request_time falls outside every period are not exported.</summary>
public sealed class EnabledPeriod
{
    public long Id { get; set; }
    public Guid ProfileId { get; set; }
    public DateTimeOffset From { get; set; }
    public DateTimeOffset? Until { get; set; }
}

/// <summary>
/// A call record kept until every profile of its area had its chance at it: the fields filters look at as columns
/// (so a profile's hour is chosen in one statement), and the CSV values, unmasked, in the order of the CSV columns.
/// </summary>
public sealed class StagedRecord
{
    public Guid AreaId { get; set; }
    public required string RequestUuid { get; set; }
    public DateTimeOffset RequestTime { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public string? ApiKey { get; set; }
    public string? ServiceId { get; set; }
    public string? ServiceName { get; set; }
    public int? HttpStatusCode { get; set; }
    public required string?[] Values { get; set; }
}

/// <summary>One object of a profile's hour; its records are fixed (assignments) before it is uploaded, so a retry writes the same bytes to the same key.</summary>
public sealed class ExportObject
{
    public long Id { get; set; }
    public Guid ProfileId { get; set; }
    public DateTimeOffset HourStart { get; set; }
    public DateTimeOffset ExtractionTime { get; set; }
    public required string Bucket { get; set; }
    public required string Key { get; set; }
    public bool Uploaded { get; set; }
    public int RecordCount { get; set; }
    public long Bytes { get; set; }
    public string? Sha256 { get; set; }
    public int Attempts { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset? NextAttemptAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? UploadedAt { get; set; }
}

/// <summary>A record given to one object of a profile: the key makes "exactly once per profile" a database fact.</summary>
public sealed class Assignment
{
    public Guid ProfileId { get; set; }
    public required string RequestUuid { get; set; }
    public long ObjectId { get; set; }
}
