namespace CallLogs.Profile.Apis;

/// <summary>Bucket encryption as the API takes and shows it: off, or on with the role, key and external id.</summary>
public sealed record EncryptionSetting(bool Enabled, string? IamRoleArn = null, string? CmkKeyArn = null, string? IamRoleExternalId = null);

/// <summary>One filter: <c>field</c> is apiDefinition, apiKey or responseCode; <c>operator</c> is "is" or "is not".</summary>
public sealed record FilterSetting(string Field, string Operator, string Value);

public sealed record CreateExportProfileRequest(
    string? Name,
    string? S3Bucket,
    EncryptionSetting? Encryption,
    bool MaskSensitiveData,
    int? UnmaskedCharacters,
    DateTimeOffset? CollectFrom,
    DateTimeOffset? CollectUntil,
    IReadOnlyList<FilterSetting>? Filters);

/// <summary>
/// A change to a profile: every field is optional and only what is given changes. Name, bucket, encryption and
/// masking are editable; collectFrom, collectUntil and filters are fixed at creation (409 if a different value is sent).
/// </summary>
public sealed record UpdateExportProfileRequest(
    string? Name,
    string? S3Bucket,
    EncryptionSetting? Encryption,
    bool? MaskSensitiveData,
    int? UnmaskedCharacters,
    DateTimeOffset? CollectFrom,
    DateTimeOffset? CollectUntil,
    IReadOnlyList<FilterSetting>? Filters);

public sealed record ExportProfileResponse(
    Guid Id,
    Guid AreaId,
    string Name,
    string S3Bucket,
    EncryptionSetting Encryption,
    bool MaskSensitiveData,
    int UnmaskedCharacters,
    DateTimeOffset CollectFrom,
    DateTimeOffset? CollectUntil,
    IReadOnlyList<FilterSetting> Filters,
    string Status,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record PagedList<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);

public sealed record CreateAreaRequest(string? Name);

public sealed record RenameAreaRequest(string? Name);

public sealed record AreaResponse(Guid Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
