using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Net;
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
/// Writes the trail to S3. Each pass first assigns every undelivered event of an area to a new log file row, in one
/// transaction, so an event belongs to exactly one file; then uploads the files not yet uploaded. A file's key and
/// content are fixed by its row, so an upload retried after a crash overwrites the same object with the same bytes.
/// Hourly digests chain the files of each hour, signed SHA256withRSA.
/// </summary>
public sealed partial class TrailWriter(
    IServiceScopeFactory scopes,
    IAmazonS3 s3,
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

    private readonly SemaphoreSlim _ready = new(1, 1);
    private bool _isReady;

    private AuditOptions Options => options.Value;

    /// <summary>Assigns new events to log files and uploads every file not yet uploaded; returns the number uploaded.</summary>
    public async Task<int> DeliverAsync(CancellationToken cancellationToken)
    {
        await EnsureReadyAsync(cancellationToken);
        await AssignAsync(cancellationToken);
        return await UploadPendingAsync(cancellationToken);
    }

    /// <summary>Writes the digest of every complete hour up to <paramref name="now"/>, per area; returns how many.</summary>
    public async Task<int> WriteDigestsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await EnsureReadyAsync(cancellationToken);
        List<TrailArea> areas;
        await using (var scope = scopes.CreateAsyncScope())
        {
            areas = await scope.ServiceProvider.GetRequiredService<AuditDbContext>().Areas.AsNoTracking().ToListAsync(cancellationToken);
        }

        var written = 0;
        foreach (var area in areas)
        {
            while (await WriteNextDigestAsync(area, now, cancellationToken))
            {
                written++;
            }
        }

        return written;
    }

    /// <summary>Removes delivered events older than the retention period from the lookup store.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        var before = now - Options.Retention;
        return await db.Events.Where(e => e.EventTime < before && e.LogFileId != null).ExecuteDeleteAsync(cancellationToken);
    }

    private async Task AssignAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        var areas = await db.Events.Where(e => e.LogFileId == null).Select(e => e.AreaKey).Distinct().ToListAsync(cancellationToken);
        foreach (var area in areas)
        {
            while (true)
            {
                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                await LockAreaAsync(db, area, cancellationToken);
                var batch = await db.Events.Where(e => e.AreaKey == area && e.LogFileId == null)
                    .OrderBy(e => e.Seq).Take(Options.MaxEventsPerFile)
                    .Select(e => new { e.EventId, e.EventTime })
                    .ToListAsync(cancellationToken);
                if (batch.Count == 0)
                {
                    await transaction.CommitAsync(cancellationToken);
                    break;
                }

                // Never before the end of the area's last digest: a file always falls in an hour not yet digested.
                var lastDigestEnd = await db.Digests.Where(d => d.AreaKey == area).MaxAsync(d => (DateTimeOffset?)d.PeriodEnd, cancellationToken);
                var now = clock.GetUtcNow();
                var createdAt = lastDigestEnd is { } end && end > now ? end : now;
                var file = new LogFile
                {
                    AreaKey = area,
                    Key = TrailKeys.LogFile(Options.Prefix, area, Options.Region, createdAt, TrailKeys.RandomSuffix()),
                    CreatedAt = createdAt,
                    EventCount = batch.Count,
                    OldestEventTime = batch.Min(e => e.EventTime),
                    NewestEventTime = batch.Max(e => e.EventTime),
                };
                db.LogFiles.Add(file);
                await db.SaveChangesAsync(cancellationToken);
                var ids = batch.Select(e => e.EventId).ToList();
                await db.Events.Where(e => ids.Contains(e.EventId))
                    .ExecuteUpdateAsync(s => s.SetProperty(e => e.LogFileId, (long?)file.Id), cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                db.ChangeTracker.Clear();
                if (batch.Count < Options.MaxEventsPerFile)
                {
                    break;
                }
            }
        }
    }

    private async Task<int> UploadPendingAsync(CancellationToken cancellationToken)
    {
        var uploaded = 0;
        while (true)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var file = await db.LogFiles
                .FromSql($"SELECT * FROM audit_log_files WHERE uploaded_at IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
                .FirstOrDefaultAsync(cancellationToken);
            if (file is null)
            {
                return uploaded;
            }

            var records = await db.Events.Where(e => e.LogFileId == file.Id)
                .OrderBy(e => e.EventTime).ThenBy(e => e.Seq)
                .Select(e => e.Record)
                .ToListAsync(cancellationToken);
            var content = AuditRecords.LogFileContent(records);
            await PutAsync(file.Key, content, metadata: null, cancellationToken);
            file.Sha256 = AuditRecords.Sha256Hex(content);
            file.UploadedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
            uploaded++;
            FilesDelivered.Add(1);
            EventsDelivered.Add(records.Count);
            LogFileDelivered(logger, file.Key, records.Count);
        }
    }

    private async Task<bool> WriteNextDigestAsync(TrailArea area, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await LockAreaAsync(db, area.AreaKey, cancellationToken);

        var previous = await db.Digests.AsNoTracking().Where(d => d.AreaKey == area.AreaKey)
            .OrderByDescending(d => d.PeriodEnd).FirstOrDefaultAsync(cancellationToken);
        var start = previous?.PeriodEnd ?? FloorToHour(area.FirstSeen);
        var end = start.AddHours(1);
        if (end > now)
        {
            return false;
        }

        if (await db.LogFiles.AnyAsync(f => f.AreaKey == area.AreaKey && f.CreatedAt < end && f.UploadedAt == null, cancellationToken))
        {
            // A file of this hour is not uploaded yet: its hash is not known; the next pass writes the digest.
            return false;
        }

        var files = await db.LogFiles.AsNoTracking()
            .Where(f => f.AreaKey == area.AreaKey && f.CreatedAt >= start && f.CreatedAt < end)
            .OrderBy(f => f.Id)
            .ToListAsync(cancellationToken);
        var bucket = Options.Bucket;
        var key = TrailKeys.Digest(Options.Prefix, area.AreaKey, Options.Region, end);
        var document = new DigestDocument
        {
            AreaId = area.AreaKey,
            DigestStartTime = DigestDocument.Time(start),
            DigestEndTime = DigestDocument.Time(end),
            DigestS3Bucket = bucket,
            DigestS3Object = key,
            DigestPublicKeyFingerprint = signer.Fingerprint,
            OldestEventTime = files.Count == 0 ? null : DigestDocument.Time(files.Min(f => f.OldestEventTime)),
            NewestEventTime = files.Count == 0 ? null : DigestDocument.Time(files.Max(f => f.NewestEventTime)),
            PreviousDigestS3Bucket = previous is null ? null : bucket,
            PreviousDigestS3Object = previous?.Key,
            PreviousDigestHashValue = previous?.Sha256,
            PreviousDigestHashAlgorithm = previous is null ? null : "SHA-256",
            PreviousDigestSignature = previous?.Signature,
            LogFiles = files.Select(f => new DigestLogFile
            {
                S3Bucket = bucket,
                S3Object = f.Key,
                HashValue = f.Sha256!,
                OldestEventTime = DigestDocument.Time(f.OldestEventTime),
                NewestEventTime = DigestDocument.Time(f.NewestEventTime),
            }).ToList(),
        };
        var content = document.ToBytes();
        var sha = AuditRecords.Sha256Hex(content);
        var signature = signer.Sign(DigestDocument.SigningString(document.DigestEndTime, bucket, key, sha, previous?.Signature));
        await PutAsync(key, content, new Dictionary<string, string>
        {
            [SignatureMetadata] = signature,
            [SignatureAlgorithmMetadata] = "SHA256withRSA",
        }, cancellationToken);

        db.Digests.Add(new Digest
        {
            AreaKey = area.AreaKey,
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

    private async Task PutAsync(string key, byte[] content, IDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(Gzip(content));
        var request = S3Uploads.Put(Options.Bucket, key, body, "application/gzip");
        foreach (var (name, value) in metadata ?? new Dictionary<string, string>())
        {
            request.Metadata[name] = value;
        }

        await s3.PutObjectAsync(request, cancellationToken);
    }

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

    /// <summary>Assigning files and writing a digest of one area never run at once, on any instance.</summary>
    private static Task LockAreaAsync(AuditDbContext db, string areaKey, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlInterpolatedAsync($"SELECT pg_advisory_xact_lock(hashtext({"audit-area:" + areaKey}))", cancellationToken);

    public static DateTimeOffset FloorToHour(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivered audit log file {Key} with {Count} events")]
    private static partial void LogFileDelivered(ILogger logger, string key, int count);
}
