namespace CallLogs.Export.Data;

/// <summary>
/// The export service's copy of a profile: the highest version it saw. A profile whose delete arrived first is a
/// tombstone (deleted, no snapshot), so its older events change nothing when they come.
/// </summary>
public sealed class ProfileCopy
{
    public Guid Id { get; set; }
    public Guid AreaId { get; set; }
    public long Version { get; set; }
    public bool Enabled { get; set; }
    public bool Deleted { get; set; }
    /// <summary>The <see cref="CallLogs.Contracts.ExportProfileSnapshot"/> of <see cref="Version"/> as JSON; null for a tombstone.</summary>
    public string? Snapshot { get; set; }
    /// <summary>Why the profile cannot be planned (an S3 destination the rules refuse), shown in its status; null when it can.</summary>
    public string? PlanningError { get; set; }
    /// <summary>The last closed hour that has its first object planned.</summary>
    public DateTimeOffset? LastHourPlanned { get; set; }
    /// <summary>Every staged record up to this staging sequence number has been considered for this profile.</summary>
    public long PlannedThroughSeq { get; set; }
}

/// <summary>
/// One version of a profile as its event told it: enabled or not, deleted or not, from when. Events arrive in any
/// order; the enabled periods are worked out from the versions in order, so the outcome does not depend on it.
/// </summary>
public sealed class ProfileVersion
{
    public Guid ProfileId { get; set; }
    public long Version { get; set; }
    public bool Enabled { get; set; }
    public bool Deleted { get; set; }
    public DateTimeOffset At { get; set; }
}

/// <summary>An area's name for export file names (newest event wins).</summary>
public sealed class AreaName
{
    public Guid AreaId { get; set; }
    public required string Name { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// A stretch of time a profile was enabled, worked out from its <see cref="ProfileVersion"/>s: records whose
/// request_time falls outside every period are not exported.
/// </summary>
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
    /// <summary>Since when the object waits to be written: its planning, or the re-export that asked for it again.</summary>
    public DateTimeOffset PendingSince { get; set; }
    public DateTimeOffset? UploadedAt { get; set; }
    /// <summary>
    /// When the object was given up, unwritten: its profile was deleted, or it kept failing for
    /// <c>Export:GiveUpAfter</c> (the reason is in <see cref="LastError"/>). Never retried; its records may be dropped.
    /// </summary>
    public DateTimeOffset? AbandonedAt { get; set; }
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
