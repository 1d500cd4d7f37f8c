using System.Globalization;
using CallLogs.Contracts;

namespace CallLogs.Export.Domain;

/// <summary>The pure rules of an export: which records a profile takes, how they are masked, where the object goes.</summary>
public static class ExportRules
{
    /// <summary>
    /// Within one field, <c>is</c> keeps a record whose value is one of the listed ones and <c>is not</c> one whose value is
    /// none of them; across fields all must hold. API Definition matches the service name or id.
    /// </summary>
    public static bool Matches(IReadOnlyList<ExportFilter> filters, CallRecord record)
    {
        foreach (var field in filters.GroupBy(f => f.Field))
        {
            var values = field.Select(f => f.Value).ToHashSet(StringComparer.Ordinal);
            var hit = field.Key switch
            {
                FilterField.ApiDefinition => (record.ServiceName is { } name && values.Contains(name)) || (record.ServiceId is { } id && values.Contains(id)),
                FilterField.ApiKey => record.ApiKey is { } key && values.Contains(key),
                FilterField.ResponseCode => record.HttpStatusCode is { } code && values.Contains(code.ToString(CultureInfo.InvariantCulture)),
                _ => false,
            };
            if (hit != (field.First().Operator == FilterOperator.Is))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The CSV values of a record, with api_key and oauth_access_token masked when the profile masks.</summary>
    public static string?[] Values(CallRecord record, bool mask, int keep)
    {
        var values = CallRecordFields.Values(record);
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
