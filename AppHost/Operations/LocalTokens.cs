using CallLogs.ServiceDefaults.Auth;

namespace CallLogs.AppHost.Operations;

/// <summary>
/// This run's token signing key: the services validate CallLogs tokens with it, the AppHost mints the demo tokens
/// and the short-lived tokens of its resource commands. New every run (so tokens die with it) unless
/// <c>Parameters:auth-signing-key</c> is set; production uses an OpenID Connect issuer instead (Auth:Authority).
/// </summary>
public sealed class LocalTokens
{
    public const string ParameterName = "auth-signing-key";

    public LocalTokens(IDistributedApplicationBuilder builder)
    {
        var key = builder.Configuration[$"Parameters:{ParameterName}"] is { Length: > 0 } configured ? configured : TokenIssuer.NewSigningKey();
        SigningKey = builder.AddParameter(ParameterName, key, secret: true);
        Issuer = new TokenIssuer(key);
    }

    public IResourceBuilder<ParameterResource> SigningKey { get; }
    public TokenIssuer Issuer { get; }

    /// <summary>A platform admin token for one command run, named after the dashboard so the audit trail shows who acted.</summary>
    public string ForCommand(string command) =>
        Issuer.Issue(Roles.PlatformAdmin, null, "aspire-dashboard", $"Aspire dashboard ({command})", TimeSpan.FromMinutes(10));
}
