using System.ComponentModel.DataAnnotations;

namespace CallLogs.ServiceDefaults.Auth;

/// <summary>
/// Where tokens come from: an OpenID Connect issuer (<see cref="Authority"/>) in production, or a
/// signing key that AppHost generates per run (<see cref="SigningKey"/>, base64) for local runs and tests.
/// </summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string SectionName = "Auth";

    public string? Authority { get; set; }
    public string? SigningKey { get; set; }
    public string Issuer { get; set; } = TokenIssuer.LocalIssuer;
    public string Audience { get; set; } = TokenIssuer.Audience;

    /// <summary>
    /// The signing algorithms taken from the issuer (<see cref="Authority"/>); a token signed any other way, "none"
    /// included, is refused. Tokens of the local key are HS256 only.
    /// </summary>
    public string[] SigningAlgorithms { get; set; } = ["RS256"];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(Authority) && string.IsNullOrWhiteSpace(SigningKey))
        {
            yield return new ValidationResult(
                "Set Auth:Authority to an OpenID Connect issuer, or Auth:SigningKey to a base64 key of at least 32 bytes (AppHost sets one for local runs).",
                [nameof(Authority), nameof(SigningKey)]);
        }

        if (!string.IsNullOrWhiteSpace(Authority) && !Uri.TryCreate(Authority, UriKind.Absolute, out _))
        {
            yield return new ValidationResult("Auth:Authority must be an absolute https:// URI of the OpenID Connect issuer.", [nameof(Authority)]);
        }

        if (SigningAlgorithms is null || SigningAlgorithms.Length == 0 || SigningAlgorithms.Any(a => string.IsNullOrWhiteSpace(a) || a.Equals("none", StringComparison.OrdinalIgnoreCase)))
        {
            yield return new ValidationResult("Auth:SigningAlgorithms must list the issuer's signing algorithms (e.g. RS256); \"none\" is never taken.", [nameof(SigningAlgorithms)]);
        }

        if (!string.IsNullOrWhiteSpace(SigningKey) && !IsKeyLongEnough(SigningKey))
        {
            yield return new ValidationResult("Auth:SigningKey must be base64 of at least 32 bytes.", [nameof(SigningKey)]);
        }
    }

    private static bool IsKeyLongEnough(string key)
    {
        var buffer = new byte[key.Length];
        return Convert.TryFromBase64String(key, buffer, out var written) && written >= 32;
    }
}
