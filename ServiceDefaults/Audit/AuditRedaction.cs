using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// Keeps secrets out of the audit trail, by name and by value. By name: a value under a key named like a secret
/// (token, secret, password, key, credential, externalId...) becomes <see cref="Marker"/>; identifiers of keys and
/// tokens (<c>tokenId</c>, <c>accessKeyId</c>, <c>id</c>) are not secrets and stay readable, and a list under such a
/// key (<c>tokens</c>) is a list of descriptions whose items are redacted field by field. By value, wherever a string
/// appears (any key, query strings, error messages): JSON Web Tokens, <c>Bearer</c> credentials, the value of
/// <c>name=value</c> pairs whose name is a secret's (<c>?key=</c>, <c>&amp;token=</c>, <c>Password=</c> in URLs and
/// connection strings), and long random-looking words such as a stream token's secret.
/// </summary>
public static partial class AuditRedaction
{
    public const string Marker = "***REDACTED***";

    private static readonly string[] SensitiveFragments =
        ["secret", "token", "password", "passwd", "passphrase", "credential", "authorization", "externalid", "privatekey", "apikey", "signature", "cookie"];

    /// <summary>True when a value under this key must not be recorded.</summary>
    public static bool IsSensitiveKey(string key)
    {
        var normalized = Normalize(key);
        if (normalized.Length == 0)
        {
            return false;
        }

        if ((normalized.EndsWith("id", StringComparison.Ordinal) || normalized.EndsWith("ids", StringComparison.Ordinal))
            && !normalized.EndsWith("externalid", StringComparison.Ordinal) && !normalized.EndsWith("externalids", StringComparison.Ordinal))
        {
            // tokenId, accessKeyId, keyId: names of a secret, not the secret.
            return false;
        }

        if (normalized.EndsWith("nexttoken", StringComparison.Ordinal) || normalized.EndsWith("continuationtoken", StringComparison.Ordinal)
            || normalized.EndsWith("pagetoken", StringComparison.Ordinal))
        {
            // Where a page of a listing ends: handed out to anybody who lists.
            return false;
        }

        return SensitiveFragments.Any(normalized.Contains)
            || normalized is "key" or "pwd" or "pass" or "sig" or "auth"
            || normalized.EndsWith("key", StringComparison.Ordinal) || normalized.EndsWith("keys", StringComparison.Ordinal);
    }

    /// <summary>Returns a redacted copy of <paramref name="node"/> (the input is not changed).</summary>
    public static JsonNode? Redact(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => RedactObject(obj),
        JsonArray array => new JsonArray(array.Select(Redact).ToArray()),
        JsonValue value when value.TryGetValue<string>(out var s) => JsonValue.Create(RedactText(s)),
        _ => node.DeepClone(),
    };

    public static JsonObject RedactObject(JsonObject obj)
    {
        // A filter that names a secret field ({"field": "apiKey", "values": [...]}) holds secrets in its values.
        var namesSecret = obj.Any(p => p.Key is "field" or "name" or "attribute" && p.Value is JsonValue v && v.TryGetValue<string>(out var s) && IsSensitiveKey(s));
        var copy = new JsonObject();
        foreach (var (key, value) in obj)
        {
            var secretValue = IsSensitiveKey(key) || namesSecret && key is "value" or "values";
            copy[key] = (secretValue, value) switch
            {
                (_, null) => null,
                (true, JsonArray items) when items.All(i => i is JsonObject) => Redact(items),
                (true, _) => JsonValue.Create(Marker),
                _ => Redact(value),
            };
        }

        return copy;
    }

    /// <summary>The text with every secret it carries replaced by <see cref="Marker"/>.</summary>
    public static string RedactText(string value)
    {
        if (value.Length < 8)
        {
            return value;
        }

        var result = JwtPattern().Replace(value, Marker);
        result = BearerPattern().Replace(result, m => m.Groups["scheme"].Value + Marker);
        result = PairPattern().Replace(result, m => IsSensitiveKey(Uri.UnescapeDataString(m.Groups["name"].Value))
            ? m.Groups["lead"].Value + m.Groups["name"].Value + "=" + Marker
            : m.Value);
        return RandomWordPattern().Replace(result, m => LooksRandom(m.Value) ? Marker : m.Value);
    }

    /// <summary>A JSON Web Token (three base64url parts, the first a JSON header) wherever it appears.</summary>
    public static bool LooksLikeBearerToken(string value) => value.Length > 20 && JwtPattern().IsMatch(value);

    /// <summary>
    /// A word of at least 40 base64 characters with several capitals and small letters, and either several digits or
    /// capitals at least a quarter as many as small letters: what random secrets (32 random bytes in base64) look like,
    /// and what identifiers (hex, GUIDs) and names (a capital per word) almost never do. Requiring three digits alone
    /// let one random secret in 37 through (a 43-character secret has fewer than three digits that often); with either,
    /// about one in 360,000 (CaptureRulesTests).
    /// </summary>
    private static bool LooksRandom(string word)
    {
        int upper = 0, lower = 0, digits = 0;
        foreach (var c in word)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                upper++;
            }
            else if (char.IsAsciiLetterLower(c))
            {
                lower++;
            }
            else if (char.IsAsciiDigit(c))
            {
                digits++;
            }
        }

        return upper >= 4 && lower >= 4 && (digits >= 3 || upper * 4 >= lower);
    }

    private static string Normalize(string key)
    {
        var builder = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            if (char.IsLetterOrDigit(c))
            {
                builder.Append(char.ToLowerInvariant(c));
            }
        }

        return builder.ToString();
    }

    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")]
    private static partial Regex JwtPattern();

    [GeneratedRegex(@"(?<scheme>\b(Bearer|Basic)\s+)[^\s""',;]{8,}", RegexOptions.IgnoreCase)]
    private static partial Regex BearerPattern();

    /// <summary><c>name=value</c> after a start, <c>?</c>, <c>&amp;</c>, <c>;</c>, a space or a quote: query strings, connection strings, headers.</summary>
    [GeneratedRegex(@"(?<lead>^|[?&;\s""'(,])(?<name>[A-Za-z0-9_.%\-]{1,64})=(?<value>[^&;\s""'#,)]*)")]
    private static partial Regex PairPattern();

    [GeneratedRegex(@"(?<![A-Za-z0-9_\-+/])[A-Za-z0-9_\-+/]{40,}={0,2}")]
    private static partial Regex RandomWordPattern();
}
