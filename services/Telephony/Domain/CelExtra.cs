using System.Text.Json;
using System.Text.RegularExpressions;

namespace CallLogs.Telephony.Domain;

/// <summary>Reading the <c>extra</c> column of CEL rows (JSON, whose <c>extra</c> key often holds "key: value" pairs).</summary>
internal static partial class CelExtra
{
    [GeneratedRegex(@"(?:^|,\s*)(\w+):")]
    private static partial Regex KeyPattern();

    /// <summary>The JSON object in the column, or null when missing or not JSON.</summary>
    public static Dictionary<string, string>? Parse(string? extra)
    {
        if (string.IsNullOrWhiteSpace(extra))
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(extra);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            return doc.RootElement.EnumerateObject().ToDictionary(
                p => p.Name,
                p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() ?? "" : p.Value.GetRawText());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>"a: 1, b: x,y, c: 3" → a=1, b="x,y", c=3 (values run until the next key).</summary>
    public static Dictionary<string, string> KeyValuePairs(string text)
    {
        var result = new Dictionary<string, string>();
        var keys = KeyPattern().Matches(text);
        for (var i = 0; i < keys.Count; i++)
        {
            var start = keys[i].Index + keys[i].Length;
            var value = i + 1 < keys.Count
                ? text[start..keys[i + 1].Index].Trim().TrimEnd(',')
                : text[start..].Trim();
            result[keys[i].Groups[1].Value] = value;
        }
        return result;
    }

    /// <summary>Key/value pairs a dialplan event must carry; none means the call's rows cannot be trusted.</summary>
    public static Dictionary<string, string> RequiredKeyValuePairs(CelRow cel, string text)
    {
        var pairs = KeyValuePairs(text);
        return pairs.Count > 0
            ? pairs
            : throw new CelInterpretationException($"CEL row {cel.Id} ({cel.EventType}) has no key: value pairs in its extra column: {text}");
    }

    /// <summary>The comma-separated "key: value" tokens of a missed/blocked call event, in order.</summary>
    public static string[] Tokens(string text) =>
        text.Split(',').Select(t => { var i = t.IndexOf(": ", StringComparison.Ordinal); return i < 0 ? "" : t[(i + 2)..]; }).ToArray();
}

/// <summary>A call's rows that cannot be interpreted: that call gets no call log, the others still do.</summary>
public sealed class CelInterpretationException(string message) : Exception(message);
