namespace CallLogs.Contracts;

public enum FilterField
{
    ApiDefinition,
    ApiKey,
    ResponseCode,
}

public enum FilterOperator
{
    Is,
    IsNot,
}

public sealed record ExportFilter
{
    public required FilterField Field { get; init; }
    public required FilterOperator Operator { get; init; }
    public required string Value { get; init; }
}

public sealed record BucketEncryption
{
    public required string IamRoleArn { get; init; }
    public required string CmkKeyArn { get; init; }
    public required string IamRoleExternalId { get; init; }
}

/// <summary>Everything the export service needs to run a profile; carried by every profile event.</summary>
public sealed record ExportProfileSnapshot
{
    public required Guid ProfileId { get; init; }
    public required Guid AreaId { get; init; }
    /// <summary>
    /// The area's name when the profile changed. Export files carry the area's name; the export service keeps it
    /// current from <see cref="AreaCreated"/> and <see cref="AreaRenamed"/> and falls back on this one. Absent in
    /// events of older versions.
    /// </summary>
    public string? AreaName { get; init; }
    public required string Name { get; init; }
    /// <summary><c>bucketName</c> or <c>bucketName/additional/path</c>.</summary>
    public required string S3Bucket { get; init; }
    public BucketEncryption? Encryption { get; init; }
    public required bool MaskSensitiveData { get; init; }
    public required int UnmaskedCharacters { get; init; }
    /// <summary>Snapped to the hour; inclusive.</summary>
    public required DateTimeOffset CollectFrom { get; init; }
    /// <summary>Exclusive; null runs until disabled or deleted.</summary>
    public DateTimeOffset? CollectUntil { get; init; }
    public required IReadOnlyList<ExportFilter> Filters { get; init; }
    /// <summary>
    /// Cells that a spreadsheet would run as a formula are written with a leading apostrophe (<see cref="Csv"/>);
    /// false writes raw values. True when absent (events of older versions).
    /// </summary>
    public bool EscapeCsvFormulas { get; init; } = true;
    public required bool Enabled { get; init; }
    /// <summary>Grows by one with every change, so consumers can ignore stale events.</summary>
    public required long Version { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

public sealed record ExportProfileCreated
{
    public required ExportProfileSnapshot Profile { get; init; }
}

public sealed record ExportProfileUpdated
{
    public required ExportProfileSnapshot Profile { get; init; }
}

public sealed record ExportProfileEnabled
{
    public required ExportProfileSnapshot Profile { get; init; }
}

public sealed record ExportProfileDisabled
{
    public required ExportProfileSnapshot Profile { get; init; }
}

public sealed record ExportProfileDeleted
{
    public required Guid ProfileId { get; init; }
    public required Guid AreaId { get; init; }
    public required long Version { get; init; }
    public required DateTimeOffset DeletedAt { get; init; }
}
