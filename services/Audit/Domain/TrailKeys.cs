using System.Globalization;
using System.Security.Cryptography;

namespace CallLogs.Audit.Domain;

/// <summary>
/// Object keys of the trail. Log files:
/// <c>&lt;prefix&gt;/AuditLogs/&lt;area&gt;/&lt;region&gt;/YYYY/MM/DD/&lt;area&gt;_Audit_&lt;region&gt;_&lt;YYYYMMDDTHHmmZ&gt;_&lt;16 random&gt;.json.gz</c>;
/// digests, beside them under <c>Audit-Digest</c>:
/// <c>&lt;prefix&gt;/AuditLogs/&lt;area&gt;/Audit-Digest/&lt;region&gt;/YYYY/MM/DD/&lt;area&gt;_Audit-Digest_&lt;region&gt;_&lt;YYYYMMDDTHHmmssZ&gt;.json.gz</c>
/// (the digest's end time).
/// </summary>
public static class TrailKeys
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    public static string LogFile(string prefix, string areaKey, string region, DateTimeOffset time, string random)
    {
        var utc = time.UtcDateTime;
        return $"{Root(prefix)}AuditLogs/{areaKey}/{region}/{utc:yyyy}/{utc:MM}/{utc:dd}/{areaKey}_Audit_{region}_{utc.ToString("yyyyMMdd'T'HHmm'Z'", CultureInfo.InvariantCulture)}_{random}.json.gz";
    }

    public static string Digest(string prefix, string areaKey, string region, DateTimeOffset periodEnd)
    {
        var utc = periodEnd.UtcDateTime;
        return $"{Root(prefix)}AuditLogs/{areaKey}/Audit-Digest/{region}/{utc:yyyy}/{utc:MM}/{utc:dd}/{areaKey}_Audit-Digest_{region}_{utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}.json.gz";
    }

    /// <summary>16 characters of A-Z and 0-9 from a cryptographic source.</summary>
    public static string RandomSuffix() => RandomNumberGenerator.GetString(Alphabet, 16);

    private static string Root(string prefix) => prefix.Length == 0 ? "" : prefix + "/";
}
