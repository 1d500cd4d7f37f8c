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
    /// <summary>Every staged record up to this staging sequence number has been considered for this profile.</summary>
    public long PlannedThroughSeq { get; set; }
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
/// A call record kept until every profile of its area had its chance at it: a staging sequence number (the order
/// records became visible, which objects are cut by), the fields filters look at as columns, and the CSV values,
/// unmasked, in the order of the CSV columns.
/// </summary>
public sealed class StagedRecord
{
    public long Seq { get; set; }
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

/// <summary>
/// One object of a profile's hour: the hour's records that match the profile with a staging sequence number in
/// (<see cref="SeqFrom"/>, <see cref="SeqTo"/>]. The objects of an hour cover consecutive ranges, so each record is in
/// exactly one; the range is fixed when the object is planned, so a retry writes the same records to the same key.
/// </summary>
public sealed class ExportObject
{
    public long Id { get; set; }
    public Guid ProfileId { get; set; }
    public DateTimeOffset HourStart { get; set; }
    public DateTimeOffset ExtractionTime { get; set; }
    public required string Bucket { get; set; }
    public required string Key { get; set; }
    public long SeqFrom { get; set; }
    public long SeqTo { get; set; }
    public bool Uploaded { get; set; }
    public int RecordCount { get; set; }
    public long Bytes { get; set; }
    public string? Sha256 { get; set; }
    public int Attempts { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset? NextAttemptAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? UploadedAt { get; set; }
    /// <summary>The re-export that last asked for this object to be written again, if any.</summary>
    public Guid? ReExportId { get; set; }
}

/// <summary>
/// An area admin's request to write a profile's already exported hours again (same keys, same records: a bucket
/// emptied by mistake, or masking switched on). Its progress is the share of its objects written again.
/// </summary>
public sealed class ReExport
{
    public Guid Id { get; set; }
    public Guid AreaId { get; set; }
    public Guid ProfileId { get; set; }
    public required string StartedBy { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset From { get; set; }
    public DateTimeOffset To { get; set; }
    public int Objects { get; set; }
}
