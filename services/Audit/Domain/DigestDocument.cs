using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CallLogs.Audit.Domain;

public sealed record DigestLogFile
{
    public required string S3Bucket { get; init; }
    public required string S3Object { get; init; }
    public required string HashValue { get; init; }
    public string HashAlgorithm { get; init; } = "SHA-256";
    public required string OldestEventTime { get; init; }
    public required string NewestEventTime { get; init; }
}

/// <summary>
/// The hourly digest of an area, in the shape of a CloudTrail digest: the log files of the hour with their hashes, and
/// the previous digest's object, hash and signature, which chains the digests.
/// </summary>
public sealed record DigestDocument
{
    public required string AreaId { get; init; }
    public required string DigestStartTime { get; init; }
    public required string DigestEndTime { get; init; }
    public required string DigestS3Bucket { get; init; }
    public required string DigestS3Object { get; init; }
    public required string DigestPublicKeyFingerprint { get; init; }
    public string DigestSignatureAlgorithm { get; init; } = "SHA256withRSA";
    public string? NewestEventTime { get; init; }
    public string? OldestEventTime { get; init; }
    public string? PreviousDigestS3Bucket { get; init; }
    public string? PreviousDigestS3Object { get; init; }
    public string? PreviousDigestHashValue { get; init; }
    public string? PreviousDigestHashAlgorithm { get; init; }
    public string? PreviousDigestSignature { get; init; }
    public required IReadOnlyList<DigestLogFile> LogFiles { get; init; }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static DigestDocument? Parse(ReadOnlySpan<byte> content)
    {
        try
        {
            return JsonSerializer.Deserialize<DigestDocument>(content, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// What is signed, as CloudTrail does: the digest end time, <c>bucket/key</c>, the hex SHA-256 of the
    /// uncompressed digest, and the previous signature (<c>null</c> for the first digest), one per line.
    /// </summary>
    public static byte[] SigningString(string digestEndTime, string bucket, string key, string sha256Hex, string? previousSignature) =>
        Encoding.UTF8.GetBytes($"{digestEndTime}\n{bucket}/{key}\n{sha256Hex}\n{previousSignature ?? "null"}");
}
