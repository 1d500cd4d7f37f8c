using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CallLogs.ServiceDefaults.Auth;

/// <summary>
/// Mints CallLogs tokens with a symmetric key: AppHost prints them for local runs and tests use them.
/// Production tokens come from the OpenID Connect issuer instead.
/// </summary>
public sealed class TokenIssuer(string base64Key, string issuer = TokenIssuer.LocalIssuer)
{
    public const string LocalIssuer = "calllogs-local";
    public const string Audience = "calllogs";

    private readonly SymmetricSecurityKey _key = new(Convert.FromBase64String(base64Key));

    public static string NewSigningKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string Issue(string role, Guid? areaId, string subject, string? name = null, TimeSpan? lifetime = null)
    {
        var claims = new List<Claim>
        {
            new(CallLogsClaims.Subject, subject),
            new(CallLogsClaims.Name, name ?? subject),
            new(CallLogsClaims.Role, role),
            new(CallLogsClaims.TokenId, Guid.NewGuid().ToString("N")),
        };
        if (areaId is { } area)
        {
            claims.Add(new Claim(CallLogsClaims.Area, area.ToString()));
        }

        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity(claims),
            NotBefore = now.AddMinutes(-1),
            IssuedAt = now,
            Expires = now.Add(lifetime ?? TimeSpan.FromHours(12)),
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
    }
}
