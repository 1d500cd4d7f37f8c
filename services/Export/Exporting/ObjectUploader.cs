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
using CallLogs.ServiceDefaults.Secrets;
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
public sealed partial class ObjectUploader(ExportDbContext db, ObjectFiles files, IAmazonS3 s3, S3Settings settings, SecretSeal seal,
    IOptions<ExportOptions> options, TimeProvider clock, ILogger<ObjectUploader> logger)
{
    private const string ContentType = "application/gzip";

    private static readonly Counter<long> Exported = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.records_exported", description: "Call records written to S3 objects (a record in two profiles counts twice)");

    /// <summary>The most objects of one area and hour written from one read of their rows.</summary>
    public const int MaxObjectsPerRead = 8;

    /// <summary>
    /// Uploads one due pending object, if any, with the other due objects of its area and hour that no one else is
    /// writing (up to <see cref="MaxObjectsPerRead"/>): their files are built from one read of the hour's rows. Returns
    /// whether there was one.
    /// </summary>
    public async Task<bool> UploadNextAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var first = await db.Objects.FromSql($"""
            SELECT * FROM export_objects
            WHERE NOT uploaded AND abandoned_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= {now})
            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
            """).ToListAsync(cancellationToken) is [var due] ? due : null;
        if (first is null)
        {
            return false;
        }

        List<ExportObject> items = [first, .. await db.Objects.FromSql($"""
            SELECT o.* FROM export_objects o JOIN profiles p ON p.id = o.profile_id
            WHERE p.area_id = (SELECT area_id FROM profiles WHERE id = {first.ProfileId}) AND o.hour_start = {first.HourStart} AND o.id <> {first.Id}
              AND NOT o.uploaded AND o.abandoned_at IS NULL AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= {now})
            ORDER BY o.id LIMIT {MaxObjectsPerRead - 1} FOR UPDATE OF o SKIP LOCKED
            """).ToListAsync(cancellationToken)];
        var profileIds = items.Select(i => i.ProfileId).Distinct().ToList();
        var copies = await db.Profiles.AsNoTracking().Where(p => profileIds.Contains(p.Id)).ToDictionaryAsync(p => p.Id, cancellationToken);
        var areaId = copies.GetValueOrDefault(first.ProfileId)?.AreaId;
        var writable = new List<(ExportObject Item, ProfileCopy Copy)>();
        foreach (var item in items)
        {
            if (copies.GetValueOrDefault(item.ProfileId) is not { Deleted: false, Snapshot: not null } copy)
            {
                Abandon(item, now, "Not written: the profile was deleted.");
            }
            else if (!ExportRules.IsSafeKey(item.Key))
            {
                Abandon(item, now, "Not written: its key would leave the profile's bucket path.");
            }
            else if (copy.AreaId == areaId)
            {
                writable.Add((item, copy)); // one read is one area's rows: an object of another area is never among them
            }
        }

        if (writable.Count > 0)
        {
            await WriteAsync(writable[0].Copy.AreaId, writable, now, cancellationToken);
        }

        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        foreach (var item in items.Where(i => i.Uploaded || i.AbandonedAt is not null))
        {
            ObjectFiles.Delete(item.Id);
        }

        return true;
    }

    /// <summary>Builds the objects' files (one read of their rows) and uploads each; what fails is recorded on the objects it failed for.</summary>
    private async Task WriteAsync(Guid areaId, IReadOnlyList<(ExportObject Item, ProfileCopy Copy)> objects, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var profileIds = objects.Select(o => o.Copy.Id).ToList();
        var periods = (await db.EnabledPeriods.AsNoTracking().Where(p => profileIds.Contains(p.ProfileId)).ToListAsync(cancellationToken))
            .ToLookup(p => p.ProfileId);
        var parts = new List<ObjectFiles.Part>();
        foreach (var (item, copy) in objects)
        {
            try
            {
                var profile = JsonSerializer.Deserialize<ExportProfileSnapshot>(copy.Snapshot!, ProfileCopies.Json)!;
                parts.Add(new ObjectFiles.Part(item, profile, copy.Snapshot!, periods[copy.Id].ToList()));
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException)
            {
                Fail(item, now, ex);
            }
        }

        IReadOnlyList<ObjectFiles.BuiltFile> built;
        try
        {
            built = parts.Count > 0 ? await files.GetOrBuildAsync(areaId, parts, cancellationToken) : [];
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            foreach (var part in parts)
            {
                Fail(part.Item, now, ex);
            }

            return;
        }

        for (var i = 0; i < parts.Count; i++)
        {
            await UploadAsync(parts[i].Item, parts[i].Profile, built[i], now, cancellationToken);
        }
    }

    private async Task UploadAsync(ExportObject item, ExportProfileSnapshot profile, ObjectFiles.BuiltFile file, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
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
            Fail(item, now, ex);
        }
    }

    private void Fail(ExportObject item, DateTimeOffset now, Exception ex)
    {
        item.Attempts++;
        item.LastError = $"{ex.GetType().Name}: {ex.Message}";
        item.NextAttemptAt = now + Backoff(item.Attempts);
        LogFailed(logger, ex, item.Key, item.Attempts, item.NextAttemptAt.Value);
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

    /// <summary>
    /// The service's client, or one with credentials of the profile's role (STS AssumeRole with its external id, which
    /// the profile service sends sealed).
    /// </summary>
    private async Task<(IAmazonS3 Client, bool Owned)> ClientForAsync(ExportProfileSnapshot profile, CancellationToken cancellationToken)
    {
        if (profile.Encryption is not { } encryption)
        {
            return (s3, false);
        }

        return (await settings.CreateClientForRoleAsync(encryption.IamRoleArn, seal.Open(encryption.IamRoleExternalId)!, $"calllogs-export-{profile.ProfileId:N}",
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
