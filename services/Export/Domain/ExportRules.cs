using System.Globalization;
using System.Text;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Storage;

namespace CallLogs.Export.Domain;

/// <summary>The pure rules of an export: which records are too late, where an object goes and what it is called.</summary>
public static class ExportRules
{
    /// <summary>The longest area name a file name carries (after <see cref="SafeAreaName"/>).</summary>
    public const int MaxAreaNameLength = 64;

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

    /// <summary>
    /// A record's CSV values as a profile exports them: with every secret masked when the profile masks. The values
    /// given are left as they are: one read's values go to every profile of the area, masked or not.
    /// </summary>
    public static string?[] Mask(string?[] values, bool mask, int keep) => mask ? Masking.MaskRecord([.. values], keep) : values;

    public static DateTimeOffset HourOf(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    /// <summary>
    /// The bucket and key prefix (empty when none) of a profile's bucket setting, or why it cannot be written to.
    /// The profile service refuses such settings; this is the export's own guard against a profile that was saved
    /// under older rules or an event that did not come from it: a key built here never leaves its bucket and prefix.
    /// </summary>
    public static (string Bucket, string Prefix, string? Error) Destination(string setting)
    {
        if (S3DestinationRules.BucketPathError(setting) is { } error)
        {
            return ("", "", error);
        }

        var parts = setting.Split('/', 2);
        return (parts[0], parts.Length > 1 ? parts[1] : "", null);
    }

    /// <summary>
    /// Whether a key stays where its prefix puts it: no empty, "." or ".." segment, no control character, within
    /// S3's length. Every key <see cref="ObjectKey"/> builds from a valid prefix is safe; the uploader checks again.
    /// </summary>
    public static bool IsSafeKey(string key) =>
        key.Length > 0 && Encoding.UTF8.GetByteCount(key) <= S3DestinationRules.MaxKeyBytes && !key.Any(char.IsControl)
        && key.Split('/').All(segment => segment.Length > 0 && !segment.All(c => c == '.'));

    /// <summary>
    /// An area's name as it goes into a file name: Latin letters without their accents, ASCII letters and digits
    /// kept, every other run of characters one '-' (so no '_', which separates the name's parts, no '/' and nothing S3
    /// or a shell reads specially), at most <see cref="MaxAreaNameLength"/> characters; "area" when nothing is left.
    /// </summary>
    public static string SafeAreaName(string? name)
    {
        var text = new StringBuilder(MaxAreaNameLength + 2);
        foreach (var c in name ?? "")
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                text.Append(c);
            }
            else if (Unaccented.TryGetValue(c, out var letters))
            {
                text.Append(letters);
            }
            else if (text.Length > 0 && text[^1] != '-')
            {
                text.Append('-');
            }

            if (text.Length >= MaxAreaNameLength)
            {
                break;
            }
        }

        var safe = text.ToString(0, Math.Min(text.Length, MaxAreaNameLength)).Trim('-');
        return safe.Length == 0 ? "area" : safe;
    }

    /// <summary>The letters of Latin-1 and Latin Extended-A without their accents (the services run without ICU, so no Unicode normalisation).</summary>
    private static readonly Dictionary<char, string> Unaccented = new (string Letters, string Plain)[]
    {
        ("ÀÁÂÃÄÅĀĂĄ", "A"), ("àáâãäåāăą", "a"), ("Æ", "AE"), ("æ", "ae"), ("ÇĆĈĊČ", "C"), ("çćĉċč", "c"), ("ÐĎĐ", "D"), ("ðďđ", "d"),
        ("ÈÉÊËĒĔĖĘĚ", "E"), ("èéêëēĕėęě", "e"), ("ĜĞĠĢ", "G"), ("ĝğġģ", "g"), ("ĤĦ", "H"), ("ĥħ", "h"), ("ÌÍÎÏĨĪĬĮİ", "I"), ("ìíîïĩīĭįı", "i"),
        ("Ĳ", "IJ"), ("ĳ", "ij"), ("Ĵ", "J"), ("ĵ", "j"), ("Ķ", "K"), ("ķĸ", "k"), ("ĹĻĽĿŁ", "L"), ("ĺļľŀł", "l"), ("ÑŃŅŇŊ", "N"), ("ñńņňŉŋ", "n"),
        ("ÒÓÔÕÖØŌŎŐ", "O"), ("òóôõöøōŏő", "o"), ("Œ", "OE"), ("œ", "oe"), ("ŔŖŘ", "R"), ("ŕŗř", "r"), ("ŚŜŞŠ", "S"), ("śŝşšſ", "s"), ("ß", "ss"),
        ("ŢŤŦ", "T"), ("ţťŧ", "t"), ("Þ", "TH"), ("þ", "th"), ("ÙÚÛÜŨŪŬŮŰŲ", "U"), ("ùúûüũūŭůűų", "u"), ("Ŵ", "W"), ("ŵ", "w"),
        ("ÝŶŸ", "Y"), ("ýÿŷ", "y"), ("ŹŻŽ", "Z"), ("źżž", "z"),
    }.SelectMany(group => group.Letters.Select(letter => (letter, group.Plain))).ToDictionary(p => p.letter, p => p.Plain);

    /// <summary>
    /// <c>&lt;prefix&gt;/&lt;area id&gt;/&lt;profile id&gt;/YYYY/MM/DD/HH/&lt;area name&gt;_&lt;area id&gt;_&lt;hour start&gt;_&lt;hour end&gt;_&lt;extraction time&gt;_&lt;profile id&gt;.csv.gz</c>,
    /// times as <c>yyyyMMddTHHmmssZ</c>; the area name made safe by <see cref="SafeAreaName"/>. At most
    /// <see cref="S3DestinationRules.MaxKeySuffixBytes"/> after the prefix.
    /// </summary>
    public static string ObjectKey(string prefix, Guid area, string? areaName, Guid profile, DateTimeOffset hour, DateTimeOffset extraction)
    {
        static string T(DateTimeOffset t) => t.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var key = $"{area}/{profile}/{hour.UtcDateTime.ToString("yyyy'/'MM'/'dd'/'HH", CultureInfo.InvariantCulture)}/{SafeAreaName(areaName)}_{area}_{T(hour)}_{T(hour.AddHours(1))}_{T(extraction)}_{profile}.csv.gz";
        return prefix.Length == 0 ? key : $"{prefix}/{key}";
    }
}
