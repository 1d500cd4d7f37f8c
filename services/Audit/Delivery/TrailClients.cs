using Amazon.S3;
using CallLogs.Audit.Data;
using CallLogs.ServiceDefaults.Storage;
using Microsoft.Extensions.Options;

namespace CallLogs.Audit.Delivery;

/// <summary>An S3 client for one trail's bucket, and the KMS key its objects are written with (null: the bucket's default).</summary>
public sealed class TrailClient(IAmazonS3 client, bool owned, string? kmsKeyArn) : IDisposable
{
    public IAmazonS3 S3 { get; } = client;
    public string? KmsKeyArn { get; } = kmsKeyArn;

    public void Dispose()
    {
        if (owned)
        {
            S3.Dispose();
        }
    }
}

/// <summary>
/// The service's own S3 client for the platform trail and for area trails that name only a bucket; for an area trail
/// with SSE-KMS, a client with the credentials of the area's role (STS AssumeRole with its external id), as export
/// profiles do.
/// </summary>
public sealed class TrailClients(IAmazonS3 s3, S3Settings settings, IOptions<AuditOptions> options)
{
    public async Task<TrailClient> ForAsync(AreaTrail? trail, CancellationToken cancellationToken)
    {
        if (trail is not { Encrypts: true })
        {
            return new TrailClient(s3, owned: false, kmsKeyArn: null);
        }

        var client = await settings.CreateClientForRoleAsync(trail.IamRoleArn!, trail.IamRoleExternalId, $"calllogs-audit-{trail.AreaId:N}",
            options.Value.StsEndpoint, cancellationToken);
        return new TrailClient(client, owned: true, trail.CmkKeyArn);
    }
}
