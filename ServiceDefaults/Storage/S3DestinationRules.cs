using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace CallLogs.ServiceDefaults.Storage;

/// <summary>
/// What a tenant may name as the S3 destination of its data: the bucket and key prefix, the IAM role the platform
/// assumes to write there, the KMS key and the role's external id. Each method answers null for a valid value, else
/// why it is not valid, worded for a ProblemDetails. Values are judged exactly as sent: nothing is trimmed, so
/// "bucket\n" is refused rather than quietly becoming "bucket".
/// </summary>
/// <remarks>
/// The path rules make the prefix a plain folder name: a key the platform builds under it can never leave the
/// bucket or the prefix (no "." or ".." segments, no empty segments, no characters a URL, an IAM policy or a shell
/// would read differently), and the prefix leaves <see cref="MaxKeySuffixBytes"/> of S3's 1,024-byte key limit
/// to what the platform appends.
/// </remarks>
public static partial class S3DestinationRules
{
    /// <summary>S3's limit on an object key, in UTF-8 bytes.</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>The longest key prefix (the path after the bucket name) a destination may have.</summary>
    public const int MaxPathBytes = 512;

    /// <summary>What a writer may append after the prefix and its '/' and stay within <see cref="MaxKeyBytes"/>.</summary>
    public const int MaxKeySuffixBytes = MaxKeyBytes - MaxPathBytes - 1;

    private const int MaxArnLength = 2048;
    private const string BucketExample = "'bucketName' or 'bucketName/additional/path'";

    /// <summary><c>bucketName</c> or <c>bucketName/additional/path</c>: a general purpose bucket name and an optional key prefix.</summary>
    public static string? BucketPathError(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"S3 bucket is required: give {BucketExample}.";
        }

        if (UnprintableCharacterError("The S3 bucket", value) is { } unprintable)
        {
            return unprintable;
        }

        if (UrlScheme().IsMatch(value))
        {
            return $"Give the bare bucket name and optional path, e.g. {BucketExample}; URL schemes such as 's3://' or 'https://' are not accepted.";
        }

        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? value : value[..slash];
        if (BucketNameError(bucket) is { } bucketError)
        {
            return bucketError;
        }

        return slash < 0 ? null : PathError(value[(slash + 1)..]);
    }

    /// <summary><c>arn:aws:iam::123456789012:role/RoleName</c>, optionally with a path before the role name.</summary>
    public static string? RoleArnError(string? value)
    {
        const string example = "arn:aws:iam::123456789012:role/RoleName";
        if (ArnError("IAM Role ARN", value, "iam", example) is { } error)
        {
            return error;
        }

        var parts = value!.Split(':', 6);
        if (parts[3].Length != 0)
        {
            return $"IAM Role ARN must have no region (IAM is global): '::' after 'iam', as in {example}.";
        }

        var resource = parts[5];
        if (!resource.StartsWith("role/", StringComparison.Ordinal))
        {
            return $"IAM Role ARN must name a role ('role/...' after the account id), not '{Before(resource, '/')}': for example {example}.";
        }

        var path = resource["role/".Length..];
        var name = path[(path.LastIndexOf('/') + 1)..];
        if (name.Length is 0 or > 64)
        {
            return "The role name at the end of the IAM Role ARN must be 1 to 64 characters.";
        }

        if (path.Length > 512 + 64 || !RolePath().IsMatch(path))
        {
            return "The role name (and its optional path) in the IAM Role ARN may contain only letters, digits and _+=,.@- with '/' between path segments.";
        }

        return null;
    }

    /// <summary><c>arn:aws:kms:us-east-1:123456789012:key/&lt;key id&gt;</c> (a multi-Region <c>mrk-</c> key id allowed; not an alias).</summary>
    public static string? KmsKeyArnError(string? value)
    {
        const string example = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        if (ArnError("KMS Key ARN", value, "kms", example) is { } error)
        {
            return error;
        }

        var parts = value!.Split(':', 6);
        if (!Region().IsMatch(parts[3]))
        {
            return $"KMS Key ARN must name the key's region after 'kms:' (e.g. us-east-1), as in {example}.";
        }

        var resource = parts[5];
        if (resource.StartsWith("alias/", StringComparison.Ordinal))
        {
            return $"KMS Key ARN must name the key itself ('key/<key id>'), not an alias (an alias can later point at another key): for example {example}.";
        }

        if (!KeyResource().IsMatch(resource))
        {
            return $"KMS Key ARN must end with 'key/' and the key id (a lowercase UUID, or 'mrk-' and 32 hex digits for a multi-Region key), as in {example}.";
        }

        return null;
    }

    /// <summary>The external id the role's trust policy requires: 2 to 1,224 characters of letters, digits and <c>_+=,.@:/-</c>, as STS takes it.</summary>
    public static string? ExternalIdError(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "IAM Role External Id is required.";
        }

        if (UnprintableCharacterError("The IAM Role External Id", value) is { } unprintable)
        {
            return unprintable;
        }

        if (value.Length is < 2 or > 1224)
        {
            return $"IAM Role External Id must be 2 to 1224 characters long; it is {value.Length}.";
        }

        var valid = ExternalIdCharacters().Match(value).Length;
        return valid == value.Length ? null : $"IAM Role External Id may contain only letters, digits and _+=,.@:/-; '{value[valid]}' is not allowed.";
    }

    private static string? BucketNameError(string bucket)
    {
        if (bucket.Length is < 3 or > 63)
        {
            return $"The bucket name '{bucket}' must be 3 to 63 characters long.";
        }

        if (!BucketCharacters().IsMatch(bucket))
        {
            return $"The bucket name '{bucket}' may contain only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit.";
        }

        if (bucket.Contains("..", StringComparison.Ordinal) || bucket.Contains(".-", StringComparison.Ordinal) || bucket.Contains("-.", StringComparison.Ordinal))
        {
            return $"The bucket name '{bucket}' must not contain two adjacent dots, or a dot next to a hyphen.";
        }

        if (bucket.Count(c => c == '.') == 3 && IPAddress.TryParse(bucket, out var ip) && ip.AddressFamily == AddressFamily.InterNetwork)
        {
            return $"The bucket name '{bucket}' must not be formatted as an IP address.";
        }

        if (ReservedPrefixes.FirstOrDefault(p => bucket.StartsWith(p, StringComparison.Ordinal)) is { } prefix)
        {
            return $"The bucket name '{bucket}' must not begin with '{prefix}' (S3 reserves it).";
        }

        if (ReservedSuffixes.FirstOrDefault(s => bucket.EndsWith(s, StringComparison.Ordinal)) is { } suffix)
        {
            return $"The bucket name '{bucket}' must not end with '{suffix}' (S3 reserves it).";
        }

        return null;
    }

    private static string? PathError(string path)
    {
        if (path.Length == 0)
        {
            return $"The S3 bucket must not end with '/': give {BucketExample}.";
        }

        if (path.Length > MaxPathBytes)
        {
            return $"The path after the bucket name must be at most {MaxPathBytes} characters (it is {path.Length}), so that object keys stay within S3's {MaxKeyBytes}-byte limit.";
        }

        var segments = path.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Length == 0)
            {
                return "The path after the bucket name must not contain empty segments ('//' or a trailing '/').";
            }

            if (segment.All(c => c == '.'))
            {
                return $"The path after the bucket name must not contain a '{segment}' segment: every segment is a plain folder name.";
            }

            var bad = segment.AsSpan().IndexOfAnyExcept(PathCharacters);
            if (bad >= 0)
            {
                return $"The path after the bucket name may contain only letters, digits, '.', '_' and '-' between '/' separators; '{segment[bad]}' (in segment {i + 1}, '{segment}') is not allowed.";
            }
        }

        return null;
    }

    /// <summary>The checks every ARN shares: present, printable, short enough, six ':'-separated parts of the right partition, service and account.</summary>
    private static string? ArnError(string what, string? value, string service, string example)
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{what} is required.";
        }

        if (UnprintableCharacterError($"The {what}", value) is { } unprintable)
        {
            return unprintable;
        }

        if (value.Length > MaxArnLength)
        {
            return $"{what} must be at most {MaxArnLength} characters long.";
        }

        var parts = value.Split(':', 6);
        if (parts.Length < 6 || parts[0] != "arn")
        {
            return $"{what} must be an ARN, like {example}.";
        }

        if (parts[1] is not ("aws" or "aws-cn" or "aws-us-gov"))
        {
            return $"{what} must be in the partition aws, aws-cn or aws-us-gov, not '{parts[1]}'.";
        }

        if (parts[2] != service)
        {
            return $"{what} must be an ARN of the '{service}' service, not '{parts[2]}': for example {example}.";
        }

        if (!AccountId().IsMatch(parts[4]))
        {
            return $"{what} must carry the 12-digit AWS account id after the region, as in {example}.";
        }

        return null;
    }

    /// <summary>A control character (TAB, LF, DEL...) or any whitespace, named with its position; such a value is refused, never trimmed.</summary>
    private static string? UnprintableCharacterError(string what, string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c) || char.IsWhiteSpace(c) || char.IsSurrogate(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                var where = i == 0 ? "at its start" : i == value.Length - 1 ? "at its end" : $"at position {i + 1}";
                return $"{what} contains {CharacterName(c)} {where}; remove it (values are taken exactly as sent, nothing is trimmed).";
            }
        }

        return null;
    }

    private static string CharacterName(char c) => c switch
    {
        ' ' => "a space",
        '\t' => "a TAB (U+0009)",
        '\n' => "a line feed (U+000A)",
        '\r' => "a carriage return (U+000D)",
        '\0' => "a NUL character (U+0000)",
        '\u007f' => "a DEL character (U+007F)",
        _ => string.Create(CultureInfo.InvariantCulture, $"the character U+{(int)c:X4}"),
    };

    private static string Before(string value, char separator) => value.Split(separator, 2)[0];

    private static readonly string[] ReservedPrefixes = ["xn--", "sthree-", "amzn-s3-demo-"];
    private static readonly string[] ReservedSuffixes = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

    private static readonly System.Buffers.SearchValues<char> PathCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

    [GeneratedRegex(@"\A[A-Za-z][A-Za-z0-9+.\-]*:/")]
    private static partial Regex UrlScheme();

    [GeneratedRegex(@"\A[a-z0-9][a-z0-9.\-]*[a-z0-9]\z")]
    private static partial Regex BucketCharacters();

    [GeneratedRegex(@"\A[0-9]{12}\z")]
    private static partial Regex AccountId();

    [GeneratedRegex(@"\A(?:[A-Za-z0-9_+=,.@\-]+/)*[A-Za-z0-9_+=,.@\-]+\z")]
    private static partial Regex RolePath();

    [GeneratedRegex(@"\A[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}\z")]
    private static partial Regex Region();

    [GeneratedRegex(@"\Akey/(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\z")]
    private static partial Regex KeyResource();

    [GeneratedRegex(@"\A[A-Za-z0-9_+=,.@:/\-]*")]
    private static partial Regex ExternalIdCharacters();
}
