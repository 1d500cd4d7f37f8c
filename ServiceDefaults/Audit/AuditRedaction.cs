using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// Keeps secrets out of the audit trail: values under keys named like a secret (token, secret, password, key,
/// credential, externalId...) and any string that looks like a bearer token become <see cref="Marker"/>.
/// Identifiers of keys and tokens (<c>tokenId</c>, <c>accessKeyId</c>) are not secrets and stay readable.
/// </summary>
public static partial class AuditRedaction
{
    public const string Marker = "***REDACTED***";

    private static readonly string[] SensitiveFragments =
        ["secret", "token", "password", "passwd", "passphrase", "credential", "authorization", "externalid", "privatekey", "apikey", "signature"];

    /// <summary>True when a value under this key must not be recorded.</summary>
    public static bool IsSensitiveKey(string key)
    {
        var normalized = Normalize(key);
        if (normalized.EndsWith("id", StringComparison.Ordinal) && normalized != "externalid"
            && !normalized.EndsWith("externalid", StringComparison.Ordinal))
        {
            // tokenId, accessKeyId, keyId: names of a secret, not the secret.
            return false;
        }

        return SensitiveFragments.Any(normalized.Contains)
            || normalized == "key" || normalized.EndsWith("key", StringComparison.Ordinal) || normalized.EndsWith("keys", StringComparison.Ordinal);
    }

    /// <summary>Returns a redacted copy of <paramref name="node"/> (the input is not changed).</summary>
    public static JsonNode? Redact(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => RedactObject(obj),
        JsonArray array => new JsonArray(array.Select(Redact).ToArray()),
        JsonValue value when value.TryGetValue<string>(out var s) && LooksLikeBearerToken(s) => JsonValue.Create(Marker),
        _ => node.DeepClone(),
    };

    public static JsonObject RedactObject(JsonObject obj)
    {
        var copy = new JsonObject();
        foreach (var (key, value) in obj)
        {
            copy[key] = IsSensitiveKey(key) && value is not null ? JsonValue.Create(Marker) : Redact(value);
        }

        return copy;
    }

    /// <summary>A JSON Web Token (three base64url parts, the first a JSON header) wherever it appears.</summary>
    public static bool LooksLikeBearerToken(string value) => value.Length > 20 && JwtPattern().IsMatch(value);

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

    [GeneratedRegex(@"(^|\s|^Bearer\s)eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")]
    private static partial Regex JwtPattern();
}
