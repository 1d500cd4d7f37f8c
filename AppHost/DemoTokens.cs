using CallLogs.AppHost.Hosting;
using CallLogs.ServiceDefaults.Auth;

namespace CallLogs.AppHost;

/// <summary>
/// Ready-to-use tokens for this run (the signing key is new every run, so they die with it): a platform admin,
/// an operator, and the admin, viewer and gateway of a demo area whose id is kept under .data/ across runs.
/// </summary>
internal static class DemoTokens
{
    public static Task<string> PrintableAsync(TokenIssuer issuer, Uri profileService, CancellationToken cancellationToken)
    {
        _ = profileService;
        _ = cancellationToken;
        var area = DemoAreaId();
        return Task.FromResult(string.Join(Environment.NewLine,
            "",
            "Tokens for this run (Authorization: Bearer <token>):",
            $"  platform-admin: {issuer.Issue(Roles.PlatformAdmin, null, "platform-admin", "Platform Admin")}",
            $"  operator: {issuer.Issue(Roles.Operator, null, "operator", "Operator")}",
            $"  demo area id: {area}",
            $"  area-admin (demo area): {issuer.Issue(Roles.AreaAdmin, area, "demo-admin", "Demo Admin")}",
            $"  area-viewer (demo area): {issuer.Issue(Roles.AreaViewer, area, "demo-viewer", "Demo Viewer")}",
            $"  ingest (demo area gateway): {issuer.Issue(Roles.Ingest, area, "demo-gateway", "Demo Gateway")}",
            ""));
    }

    private static Guid DemoAreaId()
    {
        var file = Path.Combine(RepositoryPaths.Data, "demo-area-id");
        if (File.Exists(file) && Guid.TryParse(File.ReadAllText(file).Trim(), out var existing))
        {
            return existing;
        }

        var area = Guid.NewGuid();
        Directory.CreateDirectory(RepositoryPaths.Data);
        File.WriteAllText(file, area.ToString());
        return area;
    }
}
