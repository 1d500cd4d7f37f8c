using System.Diagnostics.Metrics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using CallLogs.Contracts;
using CallLogs.Export.Consumers;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Writes pending objects: the object's fixed records as gzip CSV (header, RFC 4180 rows, UTF-8), built in a temporary
/// file so memory stays bounded, with the record count and the SHA-256 of the uncompressed content as metadata. The
/// same object always gives the same bytes at the same key, so an upload retried after a crash overwrites itself.
/// A failed upload is retried with backoff and shows as the profile's last error.
/// </summary>
public sealed partial class ObjectUploader(ExportDbContext db, NpgsqlDataSource dataSource, IAmazonS3 s3, S3Settings settings,
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
        var item = await db.Objects.FromSql($"SELECT * FROM export_objects WHERE NOT uploaded AND (next_attempt_at IS NULL OR next_attempt_at <= {now}) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
            .ToListAsync(cancellationToken) is [var due] ? due : null;
        if (item is null)
        {
            return false;
        }

        var copy = await db.Profiles.AsNoTracking().FirstAsync(p => p.Id == item.ProfileId, cancellationToken);
        var profile = JsonSerializer.Deserialize<ExportProfileSnapshot>(copy.Snapshot, ProfileCopies.Json)!;
        var file = Path.Combine(Path.GetTempPath(), $"calllogs-export-{item.Id}-{Guid.NewGuid():N}.csv.gz");
        try
        {
            var (records, sha256) = await WriteCsvGzipAsync(item, copy.AreaId, profile, file, cancellationToken);
            var (client, owned) = await ClientForAsync(profile, cancellationToken);
            using var disposeOwned = owned ? client : null;
            await UploadAsync(client, item, file, records, sha256, profile.Encryption, cancellationToken);
            item.Uploaded = true;
            item.RecordCount = records;
            item.Sha256 = sha256;
            item.Bytes = new FileInfo(file).Length;
            item.UploadedAt = clock.GetUtcNow();
            item.LastError = null;
            Exported.Add(records);
            LogUploaded(logger, item.Key, records);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException or AmazonClientException)
        {
            item.Attempts++;
            item.LastError = $"{ex.GetType().Name}: {ex.Message}";
            item.NextAttemptAt = now + TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, Math.Min(item.Attempts, 8))));
            LogFailed(logger, ex, item.Key, item.Attempts);
        }
        finally
        {
            File.Delete(file);
        }

        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        return true;
    }

    /// <summary>The object's records as gzip CSV in <paramref name="file"/>; returns the record count and the SHA-256 of the uncompressed CSV.</summary>
    private async Task<(int Records, string Sha256)> WriteCsvGzipAsync(ExportObject item, Guid areaId, ExportProfileSnapshot profile, string file,
        CancellationToken cancellationToken)
    {
        using var sha256 = SHA256.Create();
        var records = 0;
        await using (var output = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        await using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        await using (var hashed = new CryptoStream(gzip, sha256, CryptoStreamMode.Write))
        await using (var writer = new StreamWriter(hashed, new UTF8Encoding(false), 1 << 16))
        {
            var line = new StringBuilder(1024);
            Csv.AppendRow(line, CallRecordFields.Names);
            await writer.WriteAsync(line, cancellationToken);
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var query = ObjectRecords.Command(connection, "SELECT s.values FROM staged_records s WHERE {0} ORDER BY s.request_time, s.request_uuid",
                areaId, profile, item.HourStart, item.SeqFrom, item.SeqTo);
            await using var reader = await query.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                line.Clear();
                Csv.AppendRow(line, ExportRules.Mask(reader.GetFieldValue<string?[]>(0), profile.MaskSensitiveData, profile.UnmaskedCharacters));
                await writer.WriteAsync(line, cancellationToken);
                records++;
            }
        }

        return (records, Convert.ToHexString(sha256.Hash!).ToLowerInvariant());
    }

    /// <summary>One PUT, or a multipart upload above the threshold; SSE-KMS with the profile's key when it encrypts.</summary>
    private async Task UploadAsync(IAmazonS3 client, ExportObject item, string file, int records, string sha256, BucketEncryption? encryption,
        CancellationToken cancellationToken)
    {
        var length = new FileInfo(file).Length;
        var count = records.ToString(CultureInfo.InvariantCulture);
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
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException or AmazonClientException)
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

        var stsConfig = new AmazonSecurityTokenServiceConfig { RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(settings.Region) };
        if (!string.IsNullOrEmpty(options.Value.StsEndpoint))
        {
            stsConfig.ServiceURL = options.Value.StsEndpoint;
        }

        using var sts = settings.AccessKey is not null
            ? new AmazonSecurityTokenServiceClient(new BasicAWSCredentials(settings.AccessKey, settings.SecretKey), stsConfig)
            : new AmazonSecurityTokenServiceClient(stsConfig);
        var assumed = await sts.AssumeRoleAsync(new AssumeRoleRequest
        {
            RoleArn = encryption.IamRoleArn,
            ExternalId = encryption.IamRoleExternalId,
            RoleSessionName = $"calllogs-export-{profile.ProfileId:N}"[..40],
            DurationSeconds = 900,
        }, cancellationToken);
        return (settings.CreateClient(assumed.Credentials), true);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Aborting the multipart upload of {Key} failed")]
    private static partial void LogAbortFailed(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exported {Key} with {Records} records")]
    private static partial void LogUploaded(ILogger logger, string key, int records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upload of {Key} failed (attempt {Attempts}); it is retried with backoff")]
    private static partial void LogFailed(ILogger logger, Exception exception, string key, int attempts);
}
