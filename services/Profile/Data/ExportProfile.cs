using CallLogs.Contracts;

namespace CallLogs.Profile.Data;

public sealed class ExportProfile
{
    public Guid Id { get; set; }
    public Guid AreaId { get; set; }
    public required string Name { get; set; }
    /// <summary>Upper-cased name, unique within the area.</summary>
    public required string NormalizedName { get; set; }
    public required string S3Bucket { get; set; }
    public bool EncryptionEnabled { get; set; }
    public string? IamRoleArn { get; set; }
    public string? CmkKeyArn { get; set; }
    public string? IamRoleExternalId { get; set; }
    public bool MaskSensitiveData { get; set; }
    public int UnmaskedCharacters { get; set; }
    public DateTimeOffset CollectFrom { get; set; }
    public DateTimeOffset? CollectUntil { get; set; }
    public List<ExportFilter> Filters { get; set; } = [];
    /// <summary>Cells a spreadsheet would run as a formula get a leading apostrophe; false writes raw values.</summary>
    public bool EscapeCsvFormulas { get; set; } = true;
    public bool Enabled { get; set; }
    /// <summary>Grows by one with every change; the concurrency token, and the order of the profile's events.</summary>
    public long Version { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public ExportProfileSnapshot Snapshot(string areaName) => new()
    {
        ProfileId = Id,
        AreaId = AreaId,
        AreaName = areaName,
        Name = Name,
        S3Bucket = S3Bucket,
        Encryption = EncryptionEnabled
            ? new BucketEncryption { IamRoleArn = IamRoleArn!, CmkKeyArn = CmkKeyArn!, IamRoleExternalId = IamRoleExternalId! }
            : null,
        MaskSensitiveData = MaskSensitiveData,
        UnmaskedCharacters = UnmaskedCharacters,
        CollectFrom = CollectFrom,
        CollectUntil = CollectUntil,
        Filters = Filters,
        EscapeCsvFormulas = EscapeCsvFormulas,
        Enabled = Enabled,
        Version = Version,
        UpdatedAt = UpdatedAt,
    };
}
