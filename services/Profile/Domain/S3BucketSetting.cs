using System.Net;
using System.Text.RegularExpressions;

namespace CallLogs.Profile.Domain;

/// <summary>
/// The profile's S3 setting: <c>bucketName</c> or <c>bucketName/additional/path</c>, never a URL. The bucket part
/// follows AWS's naming rules for general purpose buckets.
/// </summary>
public static partial class S3BucketSetting
{
    public const string UrlSchemeMessage =
        "Give the bare bucket name and optional path, e.g. 'bucketName' or 'bucketName/additional/path'; URL schemes such as 's3://' or 'https://' are not accepted.";

    public static bool HasUrlScheme(string value) => UrlScheme().IsMatch(value);

    /// <summary>Why the bucket part is not a valid S3 bucket name, or null when it is.</summary>
    public static string? BucketNameError(string value)
    {
        var bucket = value.Split('/', 2)[0];
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

        if (IPAddress.TryParse(bucket, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && bucket.Count(c => c == '.') == 3)
        {
            return $"The bucket name '{bucket}' must not be formatted as an IP address.";
        }

        if (bucket.StartsWith("xn--", StringComparison.Ordinal) || bucket.StartsWith("sthree-", StringComparison.Ordinal)
            || bucket.EndsWith("-s3alias", StringComparison.Ordinal) || bucket.EndsWith("--ol-s3", StringComparison.Ordinal))
        {
            return $"The bucket name '{bucket}' uses a prefix or suffix S3 reserves (xn--, sthree-, -s3alias, --ol-s3).";
        }

        return null;
    }

    /// <summary>Why the path part is not usable as an object key prefix, or null when it is.</summary>
    public static string? PathError(string value)
    {
        var parts = value.Split('/', 2);
        if (parts.Length == 1)
        {
            return null;
        }

        var path = parts[1];
        if (path.Length == 0 || path.Split('/').Any(segment => segment.Length == 0))
        {
            return "The path after the bucket name must not be empty or contain empty segments ('//' or a trailing '/').";
        }

        return path.Length > 512 ? "The path after the bucket name must be at most 512 characters." : null;
    }

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.\-]*://")]
    private static partial Regex UrlScheme();

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$")]
    private static partial Regex BucketCharacters();
}
