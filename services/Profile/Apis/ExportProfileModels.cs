namespace CallLogs.Profile.Apis;

/// <summary>Bucket encryption as the API takes and shows it: off, or on with the role, key and external id.</summary>
public sealed record EncryptionSetting(bool Enabled, string? IamRoleArn = null, string? CmkKeyArn = null, string? IamRoleExternalId = null);

/// <summary>One filter: <c>field</c> is apiDefinition, apiKey or responseCode; <c>operator</c> is "is" or "is not".</summary>
public sealed record FilterSetting(string Field, string Operator, string Value);

/// <summary>
/// A new profile. <c>escapeCsvFormulas</c> (default true) writes a cell that begins with = + - @ TAB or CR with a
/// leading apostrophe, so a spreadsheet shows it as text instead of running it; false writes every value raw, for
/// machine consumers.
/// </summary>
public sealed record CreateExportProfileRequest(
    string? Name,
    string? S3Bucket,
    EncryptionSetting? Encryption,
    bool MaskSensitiveData,
    int? UnmaskedCharacters,
    DateTimeOffset? CollectFrom,
    DateTimeOffset? CollectUntil,
    IReadOnlyList<FilterSetting>? Filters,
    bool? EscapeCsvFormulas = null);

/// <summary>
/// A change to a profile: every field is optional and only what is given changes. Name, bucket, encryption,
/// masking and CSV formula escaping are editable; collectFrom, collectUntil and filters are fixed at creation (409
/// if a different value is sent).
/// </summary>
public sealed record UpdateExportProfileRequest(
    string? Name,
    string? S3Bucket,
    EncryptionSetting? Encryption,
    bool? MaskSensitiveData,
    int? UnmaskedCharacters,
    DateTimeOffset? CollectFrom,
    DateTimeOffset? CollectUntil,
    IReadOnlyList<FilterSetting>? Filters,
    bool? EscapeCsvFormulas = null);

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
    bool EscapeCsvFormulas,
    string Status,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record PagedList<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);

/// <summary>
/// Which page of a list: <c>?page=1&amp;pageSize=50</c> (the defaults). Taken as text, so that a value that is no
/// number, or none that fits, is refused naming its parameter like any other bad value.
/// </summary>
public sealed record PageQuery
{
    public string? Page { get; init; }
    public string? PageSize { get; init; }

    public int PageNumber => Number(Page, 1);
    public int Size => Number(PageSize, 50);

    internal static int Number(string? text, int absent) =>
        text is null ? absent : int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : int.MinValue;
}

public sealed record CreateAreaRequest(string? Name);

public sealed record RenameAreaRequest(string? Name);

public sealed record AreaResponse(Guid Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
