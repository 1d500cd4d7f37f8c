using System.Net;
using Amazon.S3;
using CallLogs.Audit.Data;
using CallLogs.Audit.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Audit.Delivery;

public enum TrailObjectStatus
{
    Valid,
    Changed,
    Missing,
    /// <summary>A delivered log file that no digest covers yet (its hour has not ended, or its digest is still to be written).</summary>
    NotYetDigested,
}

public sealed record TrailObjectResult(string Kind, string Key, TrailObjectStatus Status, string? Detail);

/// <summary>
/// What validation found. <see cref="Valid"/> is true only when at least one digest was checked and every digest and
/// log file it covers is intact; <see cref="Status"/> says why not: <c>NotValid</c> (something was changed or is
/// missing), <c>NoDigestYet</c> (files were delivered but no digest covers the range yet: nothing can be proven), or
/// <c>NothingDelivered</c>. Files newer than the newest digest are listed as <c>NotYetDigested</c>.
/// </summary>
public sealed record TrailValidationReport(
    string AreaId,
    string Trail,
    DateTimeOffset StartTime,
    DateTimeOffset EndTime,
    bool Valid,
    string Status,
    int DigestsChecked,
    int LogFilesChecked,
    int LogFilesNotYetDigested,
    IReadOnlyList<TrailObjectResult> Results);

/// <summary>
/// Walks a digest chain (an area's in the platform trail, or an area trail's) backwards from the newest digest that
/// ends in the range to the one that covers its start. Each digest is checked against the hash its successor recorded
/// and against its signature; each log file it lists against the hash it recorded. What S3 holds is judged; the
/// database only says where the chain begins and in which bucket each object was written, and stands in for a missing
/// or changed digest so the files it listed are still checked. Objects are only ever read from the buckets this
/// service wrote them to, whatever a digest in S3 claims.
/// </summary>
public sealed class TrailValidator(AuditDbContext db, TrailClients clients, IOptions<AuditOptions> options)
{
    /// <summary>Validates the chain of <paramref name="areaKey"/> in the platform trail (<paramref name="trail"/> null) or in an area trail.</summary>
    public async Task<TrailValidationReport> ValidateAsync(AreaTrail? trail, string areaKey, DateTimeOffset start, DateTimeOffset end,
        CancellationToken cancellationToken)
    {
        var trailId = trail?.Id;
        var keys = await db.SigningKeys.AsNoTracking().ToDictionaryAsync(k => k.Fingerprint, k => k.PublicKeyPem, cancellationToken);
        var rows = await db.Digests.AsNoTracking()
            .Where(d => d.TrailId == trailId && d.AreaKey == areaKey && d.PeriodEnd > start && d.PeriodStart < end)
            .ToDictionaryAsync(d => d.Key, cancellationToken);
        var files = await db.LogFiles.AsNoTracking()
            .Where(f => f.TrailId == trailId && f.AreaKey == areaKey && f.UploadedAt != null && f.CreatedAt < end && f.CreatedAt >= start.AddHours(-1))
            .Select(f => new { f.Key, f.Bucket, f.CreatedAt })
            .ToListAsync(cancellationToken);
        var fileBuckets = files.ToDictionary(f => f.Key, f => f.Bucket ?? options.Value.Bucket);
        var newest = rows.Values.Where(d => d.PeriodEnd <= end).OrderByDescending(d => d.PeriodEnd).FirstOrDefault()
            ?? rows.Values.OrderByDescending(d => d.PeriodEnd).FirstOrDefault();

        using var client = await clients.ForAsync(trail, cancellationToken);
        var defaultBucket = trail?.Bucket ?? options.Value.Bucket;
        var results = new List<TrailObjectResult>();
        var digests = 0;
        var checkedFiles = 0;
        string? key = newest?.Key;
        string? expectedHash = null;
        while (key is not null)
        {
            rows.TryGetValue(key, out var row);
            var bucket = row?.Bucket ?? defaultBucket;
            digests++;
            var (content, metadata) = await GetAsync(client.S3, bucket, key, cancellationToken);
            DigestDocument? document = null;
            if (content is null)
            {
                results.Add(new TrailObjectResult("digest", key, TrailObjectStatus.Missing, "The digest object is not in the bucket."));
            }
            else
            {
                var sha = AuditRecords.Sha256Hex(content);
                document = DigestDocument.Parse(content);
                var problem = Check(document, sha, expectedHash, metadata, keys, bucket, key);
                results.Add(new TrailObjectResult("digest", key, problem is null ? TrailObjectStatus.Valid : TrailObjectStatus.Changed, problem));
                if (problem is not null)
                {
                    document = null;
                }
            }

            var listed = document?.LogFiles.Select(f => (f.S3Object, f.HashValue)).ToList()
                ?? await ListedFromDatabaseAsync(row, cancellationToken);
            foreach (var (fileKey, hash) in listed)
            {
                checkedFiles++;
                var (fileContent, _) = await GetAsync(client.S3, fileBuckets.GetValueOrDefault(fileKey, defaultBucket), fileKey, cancellationToken);
                results.Add(fileContent is null
                    ? new TrailObjectResult("log", fileKey, TrailObjectStatus.Missing, "The log file is not in the bucket.")
                    : AuditRecords.Sha256Hex(fileContent) == hash
                        ? new TrailObjectResult("log", fileKey, TrailObjectStatus.Valid, null)
                        : new TrailObjectResult("log", fileKey, TrailObjectStatus.Changed, "Its SHA-256 differs from the one in the digest."));
            }

            var periodStart = document is not null && DateTimeOffset.TryParse(document.DigestStartTime, out var s) ? s : row?.PeriodStart;
            if (periodStart is null || periodStart <= start)
            {
                break;
            }

            key = document is not null ? document.PreviousDigestS3Object : row?.PreviousKey;
            expectedHash = document is not null ? document.PreviousDigestHashValue : row?.PreviousSha256;
        }

        // Delivered files no digest covers yet: after the newest digest's end (or all of them, before the first digest).
        var digestedUntil = newest?.PeriodEnd ?? DateTimeOffset.MinValue;
        var undigested = files.Where(f => f.CreatedAt >= digestedUntil && f.CreatedAt >= TrailWriter.FloorToHour(start)).OrderBy(f => f.CreatedAt).ToList();
        foreach (var file in undigested)
        {
            results.Add(new TrailObjectResult("log", file.Key, TrailObjectStatus.NotYetDigested,
                $"Delivered at {file.CreatedAt:O}; the digest of its hour is written after the hour ends."));
        }

        var broken = results.Any(r => r.Status is TrailObjectStatus.Changed or TrailObjectStatus.Missing);
        var status = broken ? "NotValid"
            : digests > 0 ? "Valid"
            : undigested.Count > 0 ? "NoDigestYet"
            : "NothingDelivered";
        return new TrailValidationReport(areaKey, trail is null ? "platform" : trail.Id.ToString("D"), start, end, status == "Valid", status,
            digests, checkedFiles, undigested.Count, results);
    }

    private static string? Check(DigestDocument? document, string sha, string? expectedHash, IDictionary<string, string> metadata,
        IReadOnlyDictionary<string, string> keys, string bucket, string key)
    {
        if (expectedHash is not null && sha != expectedHash)
        {
            return "Its SHA-256 differs from the one the next digest recorded.";
        }

        if (document is null)
        {
            return "The content is not a digest.";
        }

        if (document.DigestS3Object != key || document.DigestS3Bucket != bucket)
        {
            return "The digest names another object.";
        }

        if (!metadata.TryGetValue(TrailWriter.SignatureMetadata, out var signature))
        {
            return "The signature is missing from the object's metadata.";
        }

        if (!keys.TryGetValue(document.DigestPublicKeyFingerprint, out var publicKey))
        {
            return "It is signed by a key this trail does not know.";
        }

        var signingString = DigestDocument.SigningString(document.DigestEndTime, bucket, key, sha, document.PreviousDigestSignature);
        return DigestSigner.Verify(publicKey, signingString, signature) ? null : "The signature does not match the content.";
    }

    private async Task<List<(string Key, string Hash)>> ListedFromDatabaseAsync(Digest? row, CancellationToken cancellationToken)
    {
        if (row is null)
        {
            return [];
        }

        var listed = await db.LogFiles.AsNoTracking()
            .Where(f => f.TrailId == row.TrailId && f.AreaKey == row.AreaKey && f.CreatedAt >= row.PeriodStart && f.CreatedAt < row.PeriodEnd && f.Sha256 != null)
            .OrderBy(f => f.Id)
            .Select(f => new { f.Key, f.Sha256 })
            .ToListAsync(cancellationToken);
        return listed.Select(f => (f.Key, f.Sha256!)).ToList();
    }

    private static async Task<(byte[]? Content, IDictionary<string, string> Metadata)> GetAsync(IAmazonS3 s3, string bucket, string key,
        CancellationToken cancellationToken)
    {
        try
        {
            using var response = await s3.GetObjectAsync(bucket, key, cancellationToken);
            var metadata = response.Metadata.Keys.ToDictionary(
                k => k.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase) ? k["x-amz-meta-".Length..] : k,
                k => response.Metadata[k],
                StringComparer.OrdinalIgnoreCase);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, cancellationToken);
            buffer.Position = 0;
            try
            {
                return (TrailWriter.Gunzip(buffer), metadata);
            }
            catch (InvalidDataException)
            {
                // Not gzip any more: someone replaced it. Its hash cannot match.
                return (buffer.ToArray(), metadata);
            }
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return (null, new Dictionary<string, string>());
        }
    }
}
