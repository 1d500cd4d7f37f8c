using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using CallLogs.Audit.Data;
using CallLogs.Audit.Domain;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Audit.Delivery;

/// <summary>
/// Writes the trails to S3: the platform trail (every event, in the platform bucket, one folder and digest chain per
/// area) and each area's own trail (that area's events, in the bucket the area chose, with a digest chain of its own).
/// Each pass first assigns undelivered events to new log file rows, in one transaction per file, so an event belongs
/// to exactly one file of each trail; then uploads the files not yet uploaded. A file's bucket, key and content are
/// fixed by its row, so an upload retried after a crash overwrites the same object with the same bytes. A file is built
/// streaming, into a temporary gzip file, so memory stays bounded whatever its events hold. A failed upload (a bucket
/// that refuses us, a role that cannot be assumed) is retried later with backoff and shown in the trail's status; it
/// never holds up other files, other areas or the platform trail. Hourly digests chain the files of each hour, signed
/// SHA256withRSA.
/// </summary>
public sealed partial class TrailWriter(
    IServiceScopeFactory scopes,
    IAmazonS3 s3,
    TrailClients clients,
    IOptions<AuditOptions> options,
    DigestSigner signer,
    TimeProvider clock,
    ILogger<TrailWriter> logger)
{
    public const string SignatureMetadata = "signature";
    public const string SignatureAlgorithmMetadata = "signature-algorithm";

    private static readonly Counter<long> FilesDelivered = Telemetry.Meter.CreateCounter<long>("calllogs.audit.files_delivered", description: "Audit log files uploaded to S3");
    private static readonly Counter<long> EventsDelivered = Telemetry.Meter.CreateCounter<long>("calllogs.audit.events_delivered", description: "Audit events delivered in log files");
    private static readonly Counter<long> DigestsWritten = Telemetry.Meter.CreateCounter<long>("calllogs.audit.digests_written", description: "Hourly digests written to S3");
    private static readonly Counter<long> DeliveryFailures = Telemetry.Meter.CreateCounter<long>("calllogs.audit.delivery_failures",
        description: "Log file and digest uploads that failed and wait for a retry");

    private readonly SemaphoreSlim _ready = new(1, 1);
    private bool _isReady;

    private AuditOptions Options => options.Value;

    /// <summary>Assigns new events to log files and uploads every file that is due; returns the number uploaded.</summary>
    public async Task<int> DeliverAsync(CancellationToken cancellationToken)
    {
        await EnsureReadyAsync(cancellationToken);
        await AssignPlatformAsync(cancellationToken);
        await AssignAreaTrailsAsync(cancellationToken);
        return await UploadPendingAsync(cancellationToken);
    }

    /// <summary>Writes the digest of every complete hour up to <paramref name="now"/>, per area and per area trail; returns how many.</summary>
    public async Task<int> WriteDigestsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await EnsureReadyAsync(cancellationToken);
        List<TrailArea> areas;
        List<AreaTrail> trails;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
            areas = await db.Areas.AsNoTracking().ToListAsync(cancellationToken);
            trails = await db.Trails.AsNoTracking().ToListAsync(cancellationToken);
        }

        var written = 0;
        foreach (var area in areas)
        {
            written += await WriteDigestsOfAsync(null, area.AreaKey, area.FirstSeen, now, cancellationToken);
        }

        foreach (var trail in trails)
        {
            written += await WriteDigestsOfAsync(trail, AreaKeys.Of(trail.AreaId), trail.CreatedAt, now, cancellationToken);
        }

        return written;
    }

    /// <summary>Removes events older than the retention period, once every trail that should have them has delivered them.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        var before = now - Options.Retention;
        return await db.Events
            .Where(e => e.EventTime < before && e.LogFileId != null && (e.AreaTrailId == null || e.AreaLogFileId != null))
            .ExecuteDeleteAsync(cancellationToken);
    }

    private async Task AssignPlatformAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        var areas = await db.Events.Where(e => e.LogFileId == null).Select(e => e.AreaKey).Distinct().ToListAsync(cancellationToken);
        foreach (var area in areas)
        {
            while (await AssignBatchAsync(db, null, area, cancellationToken))
            {
            }
        }
    }

    private async Task AssignAreaTrailsAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        var pending = await db.Events.Where(e => e.AreaTrailId != null && e.AreaLogFileId == null)
            .Select(e => e.AreaTrailId!.Value).Distinct().ToListAsync(cancellationToken);
        foreach (var trailId in pending)
        {
            if (await db.Trails.AsNoTracking().FirstOrDefaultAsync(t => t.Id == trailId, cancellationToken) is not { } trail)
            {
                continue;
            }

            while (await AssignBatchAsync(db, trail, AreaKeys.Of(trail.AreaId), cancellationToken))
            {
            }
        }
    }

    /// <summary>Puts the next undelivered events of an area (in a trail) into a new log file row; false when there were fewer than a full file.</summary>
    private async Task<bool> AssignBatchAsync(AuditDbContext db, AreaTrail? trail, string areaKey, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await LockAsync(db, trail?.Id, areaKey, cancellationToken);
        var events = trail is null
            ? db.Events.Where(e => e.AreaKey == areaKey && e.LogFileId == null)
            : db.Events.Where(e => e.AreaTrailId == trail.Id && e.AreaLogFileId == null);
        var batch = await events.OrderBy(e => e.Seq).Take(Options.MaxEventsPerFile)
            .Select(e => new { e.EventId, e.EventTime })
            .ToListAsync(cancellationToken);
        if (batch.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return false;
        }

        // Never before the end of the chain's last digest: a file always falls in an hour not yet digested.
        var trailId = trail?.Id;
        var lastDigestEnd = await db.Digests.Where(d => d.TrailId == trailId && d.AreaKey == areaKey)
            .MaxAsync(d => (DateTimeOffset?)d.PeriodEnd, cancellationToken);
        var now = clock.GetUtcNow();
        var createdAt = lastDigestEnd is { } end && end > now ? end : now;
        var file = new LogFile
        {
            AreaKey = areaKey,
            TrailId = trailId,
            Bucket = trail?.Bucket,
            Key = TrailKeys.LogFile(trail?.Prefix ?? Options.Prefix, areaKey, Options.Region, createdAt, TrailKeys.RandomSuffix()),
            CreatedAt = createdAt,
            EventCount = batch.Count,
            OldestEventTime = batch.Min(e => e.EventTime),
            NewestEventTime = batch.Max(e => e.EventTime),
        };
        db.LogFiles.Add(file);
        await db.SaveChangesAsync(cancellationToken);
        var ids = batch.Select(e => e.EventId).ToList();
        if (trail is null)
        {
            await db.Events.Where(e => ids.Contains(e.EventId)).ExecuteUpdateAsync(s => s.SetProperty(e => e.LogFileId, (long?)file.Id), cancellationToken);
        }
        else
        {
            await db.Events.Where(e => ids.Contains(e.EventId)).ExecuteUpdateAsync(s => s.SetProperty(e => e.AreaLogFileId, (long?)file.Id), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        db.ChangeTracker.Clear();
        return batch.Count == Options.MaxEventsPerFile;
    }

    private async Task<int> UploadPendingAsync(CancellationToken cancellationToken)
    {
        var uploaded = 0;
        // One client per trail and pass: an encrypting trail's role is assumed once, not for every file.
        var passClients = new Dictionary<Guid, TrailClient>();
        try
        {
            while (await UploadNextAsync(passClients, cancellationToken) is { } result)
            {
                uploaded += result ? 1 : 0;
            }

            return uploaded;
        }
        finally
        {
            foreach (var client in passClients.Values)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>Uploads the next due file; true when it went out, false when it failed (and waits), null when none is due.</summary>
    private async Task<bool?> UploadNextAsync(Dictionary<Guid, TrailClient> passClients, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var file = await db.LogFiles
            .FromSql($"SELECT * FROM audit_log_files WHERE uploaded_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= {now}) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
            .FirstOrDefaultAsync(cancellationToken);
        if (file is null)
        {
            return null;
        }

        var trail = file.TrailId is { } trailId ? await db.Trails.FirstOrDefaultAsync(t => t.Id == trailId, cancellationToken) : null;
        if (file.TrailId is not null && trail is null)
        {
            // Its trail was deleted meanwhile: nothing is delivered there any more.
            db.LogFiles.Remove(file);
            await db.SaveChangesAsync(CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
            return false;
        }

        var delivered = false;

        var path = Path.Combine(Path.GetTempPath(), $"calllogs-audit-{file.Id}-{Guid.NewGuid():N}.json.gz");
        try
        {
            var records = file.TrailId is null
                ? db.Events.Where(e => e.LogFileId == file.Id)
                : db.Events.Where(e => e.AreaLogFileId == file.Id);
            var sha256 = await BuildAsync(path, records.OrderBy(e => e.EventTime).ThenBy(e => e.Seq).Select(e => e.Record).AsAsyncEnumerable(), cancellationToken);
            // A bucket that hangs is a failure like one that refuses: it must not hold the pass.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Options.UploadTimeout);
            var key = trail?.Id ?? Guid.Empty;
            if (!passClients.TryGetValue(key, out var client))
            {
                client = await clients.ForAsync(trail, timeout.Token);
                passClients[key] = client;
            }

            await using (var body = File.OpenRead(path))
            {
                await PutAsync(client, file.Bucket ?? Options.Bucket, file.Key, body, metadata: null, timeout.Token);
            }

            file.Sha256 = sha256;
            file.UploadedAt = clock.GetUtcNow();
            file.LastError = null;
            if (trail is not null)
            {
                trail.LatestDeliveryAt = file.UploadedAt;
                trail.LatestDeliveryAttemptAt = file.UploadedAt;
                trail.LatestDeliveryError = null;
            }

            delivered = true;
            FilesDelivered.Add(1);
            EventsDelivered.Add(file.EventCount);
            LogFileDelivered(logger, file.Bucket ?? Options.Bucket, file.Key, file.EventCount);
        }
        catch (Exception ex) when (IsDeliveryFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            file.Attempts++;
            file.NextAttemptAt = clock.GetUtcNow() + Backoff(file.Attempts);
            file.LastError = Describe(ex);
            if (trail is not null)
            {
                trail.LatestDeliveryAttemptAt = clock.GetUtcNow();
                trail.LatestDeliveryError = file.LastError;
            }

            DeliveryFailures.Add(1);
            LogFileFailed(logger, ex, file.Bucket ?? Options.Bucket, file.Key, file.Attempts);
        }
        finally
        {
            File.Delete(path);
        }

        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        return delivered;
    }

    /// <summary>Writes <c>{"Records":[...]}</c> gzipped into <paramref name="path"/>; returns the hex SHA-256 of the uncompressed content.</summary>
    private static async Task<string> BuildAsync(string path, IAsyncEnumerable<string> records, CancellationToken cancellationToken)
    {
        using var sha256 = SHA256.Create();
        await using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        await using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        await using (var hashed = new CryptoStream(gzip, sha256, CryptoStreamMode.Write))
        {
            await AuditRecords.WriteLogFileAsync(hashed, records, cancellationToken);
        }

        return Convert.ToHexStringLower(sha256.Hash!);
    }

    private async Task<int> WriteDigestsOfAsync(AreaTrail? trail, string areaKey, DateTimeOffset firstSeen, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var written = 0;
        TrailClient? client = null;
        try
        {
            // The client (for an encrypting trail: an assumed role) only when a digest is due.
            async Task<TrailClient> Client() => client ??= await clients.ForAsync(trail, cancellationToken);
            while (await WriteNextDigestAsync(Client, trail, areaKey, firstSeen, now, cancellationToken))
            {
                written++;
            }

            if (trail is not null && written > 0)
            {
                await SetDigestStatusAsync(trail.Id, null, cancellationToken);
            }
        }
        catch (Exception ex) when (IsDeliveryFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            DeliveryFailures.Add(1);
            LogDigestFailed(logger, ex, trail?.Bucket ?? Options.Bucket, areaKey);
            if (trail is not null)
            {
                await SetDigestStatusAsync(trail.Id, Describe(ex), cancellationToken);
            }
        }
        finally
        {
            client?.Dispose();
        }

        return written;
    }

    private async Task SetDigestStatusAsync(Guid trailId, string? error, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        var at = clock.GetUtcNow();
        await (error is null
            ? db.Trails.Where(t => t.Id == trailId).ExecuteUpdateAsync(s => s.SetProperty(t => t.LatestDigestAt, at).SetProperty(t => t.LatestDigestError, (string?)null), cancellationToken)
            : db.Trails.Where(t => t.Id == trailId).ExecuteUpdateAsync(s => s.SetProperty(t => t.LatestDigestError, error), cancellationToken));
    }

    private async Task<bool> WriteNextDigestAsync(Func<Task<TrailClient>> client, AreaTrail? trail, string areaKey, DateTimeOffset firstSeen, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var trailId = trail?.Id;
        await LockAsync(db, trailId, areaKey, cancellationToken);

        var previous = await db.Digests.AsNoTracking().Where(d => d.TrailId == trailId && d.AreaKey == areaKey)
            .OrderByDescending(d => d.PeriodEnd).FirstOrDefaultAsync(cancellationToken);
        var start = previous?.PeriodEnd ?? FloorToHour(firstSeen);
        var end = start.AddHours(1);
        if (end > now)
        {
            return false;
        }

        if (await db.LogFiles.AnyAsync(f => f.TrailId == trailId && f.AreaKey == areaKey && f.CreatedAt < end && f.UploadedAt == null, cancellationToken))
        {
            // A file of this hour is not uploaded yet: its hash is not known; a later pass writes the digest.
            return false;
        }

        var files = await db.LogFiles.AsNoTracking()
            .Where(f => f.TrailId == trailId && f.AreaKey == areaKey && f.CreatedAt >= start && f.CreatedAt < end)
            .OrderBy(f => f.Id)
            .ToListAsync(cancellationToken);
        var bucket = trail?.Bucket ?? Options.Bucket;
        var key = TrailKeys.Digest(trail?.Prefix ?? Options.Prefix, areaKey, Options.Region, end);
        var document = new DigestDocument
        {
            AreaId = areaKey,
            DigestStartTime = DigestDocument.Time(start),
            DigestEndTime = DigestDocument.Time(end),
            DigestS3Bucket = bucket,
            DigestS3Object = key,
            DigestPublicKeyFingerprint = signer.Fingerprint,
            OldestEventTime = files.Count == 0 ? null : DigestDocument.Time(files.Min(f => f.OldestEventTime)),
            NewestEventTime = files.Count == 0 ? null : DigestDocument.Time(files.Max(f => f.NewestEventTime)),
            PreviousDigestS3Bucket = previous is null ? null : previous.Bucket ?? Options.Bucket,
            PreviousDigestS3Object = previous?.Key,
            PreviousDigestHashValue = previous?.Sha256,
            PreviousDigestHashAlgorithm = previous is null ? null : "SHA-256",
            PreviousDigestSignature = previous?.Signature,
            LogFiles = files.Select(f => new DigestLogFile
            {
                S3Bucket = f.Bucket ?? Options.Bucket,
                S3Object = f.Key,
                HashValue = f.Sha256!,
                OldestEventTime = DigestDocument.Time(f.OldestEventTime),
                NewestEventTime = DigestDocument.Time(f.NewestEventTime),
            }).ToList(),
        };
        var content = document.ToBytes();
        var sha = AuditRecords.Sha256Hex(content);
        var signature = signer.Sign(DigestDocument.SigningString(document.DigestEndTime, bucket, key, sha, previous?.Signature));
        using (var body = new MemoryStream(Gzip(content)))
        {
            await PutAsync(await client(), bucket, key, body, new Dictionary<string, string>
            {
                [SignatureMetadata] = signature,
                [SignatureAlgorithmMetadata] = "SHA256withRSA",
            }, cancellationToken);
        }

        db.Digests.Add(new Digest
        {
            AreaKey = areaKey,
            TrailId = trailId,
            Bucket = trail?.Bucket,
            PeriodStart = start,
            PeriodEnd = end,
            Key = key,
            Sha256 = sha,
            Signature = signature,
            KeyFingerprint = signer.Fingerprint,
            PreviousKey = previous?.Key,
            PreviousSha256 = previous?.Sha256,
            PreviousSignature = previous?.Signature,
            CreatedAt = clock.GetUtcNow(),
        });
        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        DigestsWritten.Add(1);
        return true;
    }

    private static async Task PutAsync(TrailClient client, string bucket, string key, Stream body, IDictionary<string, string>? metadata,
        CancellationToken cancellationToken)
    {
        var request = S3Uploads.Put(bucket, key, body, "application/gzip");
        foreach (var (name, value) in metadata ?? new Dictionary<string, string>())
        {
            request.Metadata[name] = value;
        }

        if (client.KmsKeyArn is { } kmsKey)
        {
            request.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AWSKMS;
            request.ServerSideEncryptionKeyManagementServiceKeyId = kmsKey;
        }

        await client.S3.PutObjectAsync(request, cancellationToken);
    }

    private static bool IsDeliveryFailure(Exception ex) =>
        ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TaskCanceledException;

    private static string Describe(Exception ex)
    {
        var message = ex is AmazonServiceException service && service.ErrorCode is { Length: > 0 } code
            ? $"{code}: {ex.Message}"
            : $"{ex.GetType().Name}: {ex.Message}";
        return message.Length > 2000 ? message[..2000] : message;
    }

    /// <summary>1, 2, 4... minutes, at most an hour: a bucket that refuses us is asked again, not hammered.</summary>
    private static TimeSpan Backoff(int attempts) => TimeSpan.FromMinutes(Math.Min(60, Math.Pow(2, Math.Min(attempts - 1, 6))));

    public static byte[] Gzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return output.ToArray();
    }

    public static byte[] Gunzip(Stream compressed)
    {
        using var gzip = new GZipStream(compressed, CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    private async Task EnsureReadyAsync(CancellationToken cancellationToken)
    {
        if (_isReady)
        {
            return;
        }

        await _ready.WaitAsync(cancellationToken);
        try
        {
            if (_isReady)
            {
                return;
            }

            if (Options.CreateBucket)
            {
                try
                {
                    await s3.PutBucketAsync(new PutBucketRequest { BucketName = Options.Bucket }, cancellationToken);
                }
                catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.Conflict || e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
                {
                    // There already.
                }
            }

            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"INSERT INTO audit_signing_keys (fingerprint, public_key_pem, first_used) VALUES ({signer.Fingerprint}, {signer.PublicKeyPem}, {clock.GetUtcNow()}) ON CONFLICT (fingerprint) DO NOTHING",
                cancellationToken);
            _isReady = true;
        }
        finally
        {
            _ready.Release();
        }
    }

    /// <summary>Assigning files and writing a digest of one chain (an area in a trail) never run at once, on any instance.</summary>
    private static Task LockAsync(AuditDbContext db, Guid? trailId, string areaKey, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlInterpolatedAsync(
            $"SELECT pg_advisory_xact_lock(hashtext({"audit-area:" + areaKey + ":" + (trailId?.ToString("N") ?? "platform")}))", cancellationToken);

    public static DateTimeOffset FloorToHour(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivered audit log file s3://{Bucket}/{Key} with {Count} events")]
    private static partial void LogFileDelivered(ILogger logger, string bucket, string key, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upload of audit log file s3://{Bucket}/{Key} failed (attempt {Attempts}); it is retried with backoff, other files go on")]
    private static partial void LogFileFailed(ILogger logger, Exception exception, string bucket, string key, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a digest of {AreaKey} to bucket {Bucket} failed; the next pass tries again, other trails go on")]
    private static partial void LogDigestFailed(ILogger logger, Exception exception, string bucket, string areaKey);
}
