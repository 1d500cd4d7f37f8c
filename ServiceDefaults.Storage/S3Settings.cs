using System.Data.Common;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;

namespace CallLogs.ServiceDefaults.Storage;

/// <summary>
/// An S3 endpoint from a connection string such as
/// <c>Endpoint=http://127.0.0.1:4568;AccessKey=S3RVER;SecretKey=S3RVER;Region=us-east-1</c>.
/// Without <c>Endpoint</c> the client talks to AWS in <c>Region</c> with the default credential chain.
/// </summary>
public sealed record S3Settings(Uri? Endpoint, string? AccessKey, string? SecretKey, string Region)
{
    public const string ConnectionName = "storage";

    public static S3Settings Parse(string connectionString)
    {
        var parts = new DbConnectionStringBuilder { ConnectionString = connectionString };
        string? Get(string key) => parts.TryGetValue(key, out var v) ? v?.ToString() : null;
        var endpoint = Get("Endpoint");
        return new S3Settings(
            endpoint is null ? null : new Uri(endpoint),
            Get("AccessKey"),
            Get("SecretKey"),
            Get("Region") ?? "us-east-1");
    }

    /// <summary>
    /// The client configuration that stores exactly the bytes sent, on AWS and on S3-compatible servers alike:
    /// path-style addressing, and checksums only where the operation requires them. Every upload must also
    /// set <c>UseChunkEncoding = false</c>; <see cref="S3Uploads"/> does.
    /// </summary>
    public AmazonS3Config ClientConfig()
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = true,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            RegionEndpoint = RegionEndpoint.GetBySystemName(Region),
        };
        if (Endpoint is not null)
        {
            config.ServiceURL = Endpoint.ToString();
            config.AuthenticationRegion = Region;
        }

        return config;
    }

    public IAmazonS3 CreateClient(AWSCredentials? credentials = null)
    {
        credentials ??= ServiceCredentials();
        return credentials is null ? new AmazonS3Client(ClientConfig()) : new AmazonS3Client(credentials, ClientConfig());
    }

    /// <summary>
    /// A client with the credentials of a tenant's IAM role: STS AssumeRole (with the role's external id, for 15 minutes)
    /// called with this service's own credentials, at <paramref name="stsEndpoint"/> when set, else STS of <see cref="Region"/>.
    /// The caller disposes the client.
    /// </summary>
    public async Task<IAmazonS3> CreateClientForRoleAsync(string roleArn, string? externalId, string sessionName, string? stsEndpoint,
        CancellationToken cancellationToken)
    {
        var stsConfig = new AmazonSecurityTokenServiceConfig { RegionEndpoint = RegionEndpoint.GetBySystemName(Region) };
        if (!string.IsNullOrEmpty(stsEndpoint))
        {
            stsConfig.ServiceURL = stsEndpoint;
        }

        using var sts = ServiceCredentials() is { } credentials
            ? new AmazonSecurityTokenServiceClient(credentials, stsConfig)
            : new AmazonSecurityTokenServiceClient(stsConfig);
        var assumed = await sts.AssumeRoleAsync(new AssumeRoleRequest
        {
            RoleArn = roleArn,
            ExternalId = externalId,
            RoleSessionName = sessionName.Length > MaxSessionName ? sessionName[..MaxSessionName] : sessionName,
            DurationSeconds = 900,
        }, cancellationToken);
        return CreateClient(assumed.Credentials);
    }

    private const int MaxSessionName = 40;

    private BasicAWSCredentials? ServiceCredentials() => AccessKey is not null ? new BasicAWSCredentials(AccessKey, SecretKey) : null;
}
