using CallLogs.ServiceDefaults.Auth;

namespace CallLogs.AppHost;

/// <summary>Ready-to-use tokens for this run (the signing key is new every run, so they expire with it).</summary>
internal static class DemoTokens
{
    public static Task<string> PrintableAsync(TokenIssuer issuer, Uri profileService, CancellationToken cancellationToken)
    {
        _ = profileService;
        _ = cancellationToken;
        var platform = issuer.Issue(Roles.PlatformAdmin, null, "platform-admin", "Platform Admin");
        var operatorToken = issuer.Issue(Roles.Operator, null, "operator", "Operator");
        return Task.FromResult(string.Join(Environment.NewLine,
            "",
            "Tokens for this run (Authorization: Bearer <token>):",
            $"  platform-admin: {platform}",
            $"  operator:       {operatorToken}",
            ""));
    }
}
