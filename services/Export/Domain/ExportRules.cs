using System.Globalization;
using CallLogs.Contracts;

namespace CallLogs.Export.Domain;

/// <summary>The pure rules of an export: which records a profile takes, how they are masked, where the object goes.</summary>
public static class ExportRules
{
    /// <summary>
    /// Splits a batch into the records that can still be exported and those that arrived more than
    /// <paramref name="maxLateness"/> after the end of their hour.
    /// </summary>
    public static (List<CallRecord> InTime, List<CallRecord> Late) SplitLate(IEnumerable<CallRecord> records, DateTimeOffset receivedAt, TimeSpan maxLateness)
    {
        var inTime = new List<CallRecord>();
        var late = new List<CallRecord>();
        foreach (var record in records)
        {
            (HourOf(record.RequestTime).AddHours(1) + maxLateness < receivedAt ? late : inTime).Add(record);
        }

        return (inTime, late);
    }

    /// <summary>Masks api_key and oauth_access_token in the CSV values of a record (in place) when the profile masks.</summary>
    public static string?[] Mask(string?[] values, bool mask, int keep)
    {
        if (mask)
        {
            values[ApiKeyColumn] = Masking.Mask(values[ApiKeyColumn], keep);
            values[TokenColumn] = Masking.Mask(values[TokenColumn], keep);
        }

        return values;
    }

    private static readonly int ApiKeyColumn = IndexOf("api_key");
    private static readonly int TokenColumn = IndexOf("oauth_access_token");

    private static int IndexOf(string name) => CallRecordFields.Names.ToList().IndexOf(name);

    public static DateTimeOffset HourOf(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    /// <summary>Splits the bucket setting into the bucket and the key prefix (empty when none).</summary>
    public static (string Bucket, string Prefix) Bucket(string setting)
    {
        var parts = setting.Split('/', 2);
        return (parts[0], parts.Length > 1 ? parts[1].Trim('/') : "");
    }

    /// <summary>
    /// <c>&lt;path&gt;/&lt;area&gt;/&lt;profile&gt;/YYYY/MM/DD/HH/&lt;area&gt;_&lt;hour start&gt;_&lt;hour end&gt;_&lt;extraction time&gt;_&lt;profile&gt;.csv.gz</c>.
    /// </summary>
    public static string ObjectKey(string prefix, Guid area, Guid profile, DateTimeOffset hour, DateTimeOffset extraction)
    {
        static string T(DateTimeOffset t) => t.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var key = $"{area}/{profile}/{hour.UtcDateTime:yyyy'/'MM'/'dd'/'HH}/{area}_{T(hour)}_{T(hour.AddHours(1))}_{T(extraction)}_{profile}.csv.gz";
        return prefix.Length == 0 ? key : $"{prefix}/{key}";
    }
}
