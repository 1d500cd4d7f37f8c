using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using CallLogs.Contracts;
using CallLogs.Export.Consumers;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Writes pending objects: the object's fixed records as gzip CSV (<see cref="ObjectFiles"/>) with the record count
/// and the SHA-256 of the uncompressed content as metadata. The same object always gives the same bytes at the same
/// key, so an upload retried after a crash overwrites itself. Whatever goes wrong with one object (S3 refusing it, its
/// profile unreadable, anything else) is recorded on that object, which is retried with its own backoff while the
/// others go on; its built file is kept for the retry.
/// </summary>
public sealed partial class ObjectUploader(ExportDbContext db, ObjectFiles files, IAmazonS3 s3, S3Settings settings,
    IOptions<ExportOptions> options, TimeProvider clock, ILogger<ObjectUploader> logger)
{
    private const string ContentType = "application/gzip";

    private static readonly Counter<long> Exported = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.records_exported", description: "Call records written to S3 objects (a record in two profiles counts twice)");

    /// <summary>Uploads one due pending object, if any; returns whether there was one.</summary>
    public async Task<bool> UploadNextAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var item = await db.Objects.FromSql($"""
            SELECT * FROM export_objects
            WHERE NOT uploaded AND abandoned_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= {now})
            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
            """).ToListAsync(cancellationToken) is [var due] ? due : null;
        if (item is null)
        {
            return false;
        }

        var copy = await db.Profiles.AsNoTracking().FirstOrDefaultAsync(p => p.Id == item.ProfileId, cancellationToken);
        if (copy is not { Deleted: false, Snapshot: not null })
        {
            Abandon(item, now, "Not written: the profile was deleted.");
        }
        else if (!ExportRules.IsSafeKey(item.Key))
        {
            Abandon(item, now, "Not written: its key would leave the profile's bucket path.");
        }
        else
        {
            await WriteAsync(item, copy, now, cancellationToken);
        }

        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        if (item.Uploaded || item.AbandonedAt is not null)
        {
            ObjectFiles.Delete(item.Id);
        }

        return true;
    }

    private async Task WriteAsync(ExportObject item, ProfileCopy copy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            var profile = JsonSerializer.Deserialize<ExportProfileSnapshot>(copy.Snapshot!, ProfileCopies.Json)!;
            var periods = await db.EnabledPeriods.AsNoTracking().Where(p => p.ProfileId == copy.Id).ToListAsync(cancellationToken);
            var file = await files.GetOrBuildAsync(item, copy.AreaId, profile, copy.Snapshot!, periods, cancellationToken);
            var (client, owned) = await ClientForAsync(profile, cancellationToken);
            using var disposeOwned = owned ? client : null;
            await UploadAsync(client, item, file, profile.Encryption, cancellationToken);
            item.Uploaded = true;
            item.RecordCount = file.Records;
            item.Sha256 = file.Sha256;
            item.Bytes = file.Bytes;
            item.UploadedAt = clock.GetUtcNow();
            item.LastError = null;
            Exported.Add(file.Records);
            LogUploaded(logger, item.Key, file.Records);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            item.Attempts++;
            item.LastError = $"{ex.GetType().Name}: {ex.Message}";
            item.NextAttemptAt = now + Backoff(item.Attempts);
            LogFailed(logger, ex, item.Key, item.Attempts, item.NextAttemptAt.Value);
        }
    }

    /// <summary>2 s, 4 s, 8 s... up to 5 minutes between tries of one object.</summary>
    public static TimeSpan Backoff(int attempts) => TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, Math.Min(attempts, 9))));

    private void Abandon(ExportObject item, DateTimeOffset now, string reason)
    {
        item.AbandonedAt = now;
        item.LastError = reason;
        LogAbandoned(logger, item.Key, reason);
    }

    /// <summary>One PUT, or a multipart upload above the threshold; SSE-KMS with the profile's key when it encrypts.</summary>
    private async Task UploadAsync(IAmazonS3 client, ExportObject item, ObjectFiles.BuiltFile built, BucketEncryption? encryption,
        CancellationToken cancellationToken)
    {
        var (file, length, sha256) = (built.Path, built.Bytes, built.Sha256);
        var count = built.Records.ToString(CultureInfo.InvariantCulture);
        if (length <= options.Value.MultipartThreshold)
        {
            await using var body = File.OpenRead(file);
            var put = S3Uploads.Put(item.Bucket, item.Key, body, ContentType);
            put.Metadata["record-count"] = count;
            put.Metadata["sha256"] = sha256;
            if (encryption is not null)
            {
                put.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AWSKMS;
                put.ServerSideEncryptionKeyManagementServiceKeyId = encryption.CmkKeyArn;
            }

            await client.PutObjectAsync(put, cancellationToken);
            return;
        }

        var start = new InitiateMultipartUploadRequest { BucketName = item.Bucket, Key = item.Key, ContentType = ContentType };
        start.Metadata["record-count"] = count;
        start.Metadata["sha256"] = sha256;
        if (encryption is not null)
        {
            start.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AWSKMS;
            start.ServerSideEncryptionKeyManagementServiceKeyId = encryption.CmkKeyArn;
        }

        var upload = await client.InitiateMultipartUploadAsync(start, cancellationToken);
        try
        {
            var parts = new List<PartETag>();
            for (long position = 0; position < length; position += options.Value.PartSize)
            {
                var part = await client.UploadPartAsync(
                    S3Uploads.PartOfFile(item.Bucket, item.Key, upload.UploadId, parts.Count + 1, file, position, Math.Min(options.Value.PartSize, length - position)),
                    cancellationToken);
                parts.Add(new PartETag(parts.Count + 1, part.ETag));
            }

            await client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = item.Bucket, Key = item.Key, UploadId = upload.UploadId, PartETags = parts,
            }, cancellationToken);
        }
        catch
        {
            await AbortQuietlyAsync(client, item, upload.UploadId);
            throw;
        }
    }

    private async Task AbortQuietlyAsync(IAmazonS3 client, ExportObject item, string uploadId)
    {
        try
        {
            await client.AbortMultipartUploadAsync(item.Bucket, item.Key, uploadId);
        }
        catch (Exception ex)
        {
            LogAbortFailed(logger, ex, item.Key); // the bucket's lifecycle rule for incomplete uploads cleans up after it
        }
    }

    /// <summary>The service's client, or one with credentials of the profile's role (STS AssumeRole with its external id).</summary>
    private async Task<(IAmazonS3 Client, bool Owned)> ClientForAsync(ExportProfileSnapshot profile, CancellationToken cancellationToken)
    {
        if (profile.Encryption is not { } encryption)
        {
            return (s3, false);
        }

        return (await settings.CreateClientForRoleAsync(encryption.IamRoleArn, encryption.IamRoleExternalId, $"calllogs-export-{profile.ProfileId:N}",
            options.Value.StsEndpoint, cancellationToken), true);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Aborting the multipart upload of {Key} failed")]
    private static partial void LogAbortFailed(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exported {Key} with {Records} records")]
    private static partial void LogUploaded(ILogger logger, string key, int records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Key} failed (attempt {Attempts}); it is tried again from {NextAttempt}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string key, int attempts, DateTimeOffset nextAttempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gave up {Key}: {Reason}")]
    private static partial void LogAbandoned(ILogger logger, string key, string reason);
}
