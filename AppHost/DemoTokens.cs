using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CallLogs.ServiceDefaults.Auth;

namespace CallLogs.AppHost;

/// <summary>
/// Ready-to-use tokens for this run (the signing key is new every run, so they die with it): a platform admin,
/// an operator, and the admin, viewer and gateway of a demo area, which is created in the profile service if
/// it does not exist yet.
/// </summary>
internal static class DemoTokens
{
    public const string DemoAreaName = "Demo area";

    public static async Task<string> PrintableAsync(TokenIssuer issuer, Uri profileService, CancellationToken cancellationToken)
    {
        var platform = issuer.Issue(Roles.PlatformAdmin, null, "platform-admin", "Platform Admin");
        var area = await EnsureDemoAreaAsync(profileService, platform, cancellationToken);
        var lines = new List<string>
        {
            "",
            "Tokens for this run (Authorization: Bearer <token>):",
            $"  platform-admin: {platform}",
            $"  operator: {issuer.Issue(Roles.Operator, null, "operator", "Operator")}",
        };
        if (area is { } id)
        {
            lines.Add($"  demo area id: {id}");
            lines.Add($"  area-admin (demo area): {issuer.Issue(Roles.AreaAdmin, id, "demo-admin", "Demo Admin")}");
            lines.Add($"  area-viewer (demo area): {issuer.Issue(Roles.AreaViewer, id, "demo-viewer", "Demo Viewer")}");
            lines.Add($"  ingest (demo area gateway): {issuer.Issue(Roles.Ingest, id, "demo-gateway", "Demo Gateway")}");
        }
        else
        {
            lines.Add("  (the demo area could not be created: the profile service did not answer; see its log)");
        }

        lines.Add("");
        return string.Join(Environment.NewLine, lines);
    }

    private static async Task<Guid?> EnsureDemoAreaAsync(Uri profileService, string platformToken, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = profileService, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", platformToken);
        try
        {
            // Look first: a data folder kept from an earlier run has the area already (creating it again is a conflict).
            async Task<Guid?> FindAsync() => (await http.GetFromJsonAsync<JsonElement>("/api/areas", cancellationToken)).EnumerateArray()
                .Where(a => a.GetProperty("name").GetString() == DemoAreaName).Select(a => (Guid?)a.GetProperty("id").GetGuid()).FirstOrDefault();
            if (await FindAsync() is { } existing)
            {
                return existing;
            }

            using var created = await http.PostAsJsonAsync("/api/areas", new { name = DemoAreaName }, cancellationToken);
            return created.IsSuccessStatusCode
                ? (await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetGuid()
                : await FindAsync();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return null;
        }
    }
}
