using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallLogs.AppHost.Operations;

/// <summary>
/// Once every service is ready: a demo area (created if it does not exist yet), a bucket for its exports, and
/// ready-to-use tokens of this run printed with the services' addresses (a platform admin, an operator, and the
/// demo area's admin, viewer and gateway).
/// </summary>
public static class DemoArea
{
    public const string Name = "Demo area";
    public const string Bucket = "demo-exports";

    public static IResourceBuilder<ProjectResource> WithDemoArea(this IResourceBuilder<ProjectResource> profile, LocalTokens tokens,
        IResourceBuilder<IResourceWithConnectionString> storage, params IResourceBuilder<ProjectResource>[] services)
    {
        // "Up" once every service is ready (its health check passes), the first time only: a service restarted from the
        // dashboard is ready again later.
        var ready = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        var printed = 0;
        foreach (var service in services)
        {
            service.OnResourceReady((resource, @event, cancellationToken) =>
                ready.TryAdd(resource.Name, true) && ready.Count == services.Length && Interlocked.Exchange(ref printed, 1) == 0
                    ? PrintAsync(@event.Services, cancellationToken)
                    : Task.CompletedTask);
        }

        return profile;

        async Task PrintAsync(IServiceProvider provider, CancellationToken cancellationToken)
        {
            var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("CallLogs.AppHost");
            var issuer = tokens.Issuer;
            var platform = issuer.Issue(Roles.PlatformAdmin, null, "platform-admin", "Platform Admin");
            var area = await EnsureAreaAsync(new Uri(profile.GetEndpoint("http").Url), platform, logger, cancellationToken);
            await EnsureBucketAsync(storage.Resource, logger, cancellationToken);

            var text = new StringBuilder().AppendLine("CallLogs is up. Services:");
            foreach (var service in services)
            {
                text.AppendLine($"  {service.Resource.Name,-9} {service.GetEndpoint("http").Url}");
            }

            text.AppendLine("Tokens for this run (Authorization: Bearer <token>):")
                .AppendLine($"  platform-admin: {platform}")
                .AppendLine($"  operator: {issuer.Issue(Roles.Operator, null, "operator", "Operator")}");
            if (area is { } id)
            {
                text.AppendLine($"  demo area id: {id} (export bucket: {Bucket})")
                    .AppendLine($"  area-admin (demo area): {issuer.Issue(Roles.AreaAdmin, id, "demo-admin", "Demo Admin")}")
                    .AppendLine($"  area-viewer (demo area): {issuer.Issue(Roles.AreaViewer, id, "demo-viewer", "Demo Viewer")}")
                    .AppendLine($"  ingest (demo area gateway): {issuer.Issue(Roles.Ingest, id, "demo-gateway", "Demo Gateway")}");
            }

#pragma warning disable CA1848, CA2254 // printed once per run, the text is the message
            logger.LogInformation(text.ToString());
#pragma warning restore CA1848, CA2254
        }
    }

    /// <summary>A few tries: the first requests to a service that just became ready can be slow on a busy machine.</summary>
    private static async Task<Guid?> EnsureAreaAsync(Uri profile, string platformToken, ILogger logger, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await FindOrCreateAreaAsync(profile, platformToken, cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
                if (attempt == 5)
                {
                    logger.LogWarning(ex, "The demo area could not be created: the profile service did not answer as expected");
                    return null;
                }

                await Task.Delay(TimeSpan.FromSeconds(2 * attempt), cancellationToken);
            }
        }
    }

    private static async Task<Guid?> FindOrCreateAreaAsync(Uri profile, string platformToken, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = profile, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", platformToken);

        // Look first: a data folder kept from an earlier run has the area already (creating it again is a conflict).
        async Task<Guid?> FindAsync() => (await http.GetFromJsonAsync<JsonElement>("/api/areas", cancellationToken)).EnumerateArray()
            .Where(a => a.GetProperty("name").GetString() == Name).Select(a => (Guid?)a.GetProperty("id").GetGuid()).FirstOrDefault();
        if (await FindAsync() is { } existing)
        {
            return existing;
        }

        using var created = await http.PostAsJsonAsync("/api/areas", new { name = Name }, cancellationToken);
        return created.IsSuccessStatusCode
            ? (await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetGuid()
            : await FindAsync();
    }

    private static async Task EnsureBucketAsync(IResourceWithConnectionString storage, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            using var s3 = S3Settings.Parse(await storage.GetConnectionStringAsync(cancellationToken) ?? "").CreateClient();
            if (!(await s3.ListBucketsAsync(cancellationToken)).Buckets?.Exists(b => b.BucketName == Bucket) ?? true)
            {
                await s3.PutBucketAsync(Bucket, cancellationToken);
            }
        }
        catch (AmazonS3Exception ex)
        {
            logger.LogWarning(ex, "The demo bucket {Bucket} could not be created", Bucket);
        }
    }
}
