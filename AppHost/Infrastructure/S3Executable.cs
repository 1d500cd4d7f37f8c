using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CallLogs.AppHost.Infrastructure;

/// <summary>
/// An S3-compatible server: s3rver from npm (pinned in AppHost/package.json), its buckets in a folder, on 127.0.0.1.
/// Its access key is s3rver's fixed local one.
/// </summary>
public sealed class S3ExecutableResource(string name, string workingDirectory)
    : ExecutableResource(name, "node", workingDirectory), IResourceWithConnectionString
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    public EndpointReference Http => new(this, "http");

    /// <summary>The connection string every service reads with <c>S3Settings.Parse</c>.</summary>
    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Endpoint={Http.Property(EndpointProperty.Url)};AccessKey={AccessKey};SecretKey={SecretKey};Region=us-east-1");
}

public static class S3ExecutableExtensions
{
    public static IResourceBuilder<S3ExecutableResource> AddS3Executable(this IDistributedApplicationBuilder builder, string name, string dataDirectory,
        params string[] buckets)
    {
        var s3rver = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "node_modules", "s3rver", "bin", "s3rver.js"));
        var s3 = new S3ExecutableResource(name, builder.AppHostDirectory);
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(s3, (_, _) =>
        {
            if (!File.Exists(s3rver))
            {
                throw new InvalidOperationException("s3rver is not installed: run ./build.sh run (it runs npm ci --prefix AppHost).");
            }

            ServerFiles.PrivateDirectory(dataDirectory);
            return Task.CompletedTask;
        });
        var check = $"{name}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(check, _ => new S3HealthCheck(s3), null, null));
        var resource = builder.AddResource(s3)
            .WithHttpEndpoint(name: "http")
            .WithArgs(context =>
            {
                context.Args.Add(s3rver);
                context.Args.Add("--directory");
                context.Args.Add(dataDirectory);
                context.Args.Add("--address");
                context.Args.Add("127.0.0.1");
                context.Args.Add("--port");
                context.Args.Add(s3.Http.Property(EndpointProperty.TargetPort));
                context.Args.Add("--no-vhost-buckets");
                foreach (var bucket in buckets)
                {
                    context.Args.Add("--configure-bucket");
                    context.Args.Add(bucket);
                }
            })
            .WithHealthCheck(check)
            .WithIconName("Archive")
            .ExcludeFromManifest();
        return resource;
    }
}

/// <summary>Healthy when the server answers an S3 ListBuckets request with its XML (DCP's proxy accepts TCP before the server is up).</summary>
internal sealed class S3HealthCheck(S3ExecutableResource s3) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(s3.Http.Url), Timeout = TimeSpan.FromSeconds(5) };
            using var response = await http.GetAsync("/", cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return response.IsSuccessStatusCode && body.Contains("ListAllMyBucketsResult", StringComparison.Ordinal)
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"GET / answered {(int)response.StatusCode} without a bucket list.");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy(ex.Message);
        }
    }
}
