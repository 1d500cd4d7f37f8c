using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
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
}

public sealed record TrailObjectResult(string Kind, string Key, TrailObjectStatus Status, string? Detail);

public sealed record TrailValidationReport(
    string AreaId,
    DateTimeOffset StartTime,
    DateTimeOffset EndTime,
    bool Valid,
    int DigestsChecked,
    int LogFilesChecked,
    IReadOnlyList<TrailObjectResult> Results);

/// <summary>
/// Walks an area's digest chain backwards from the newest digest that ends in the range to the one that covers its
/// start. Each digest is checked against the hash its successor recorded and against its signature; each log file it
/// lists against the hash it recorded. What S3 holds is judged; the database only says where the chain begins, and
/// stands in for a missing or changed digest so the files it listed are still checked.
/// </summary>
public sealed class TrailValidator(AuditDbContext db, IAmazonS3 s3, IOptions<AuditOptions> options)
{
    public async Task<TrailValidationReport> ValidateAsync(string areaKey, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken)
    {
        var keys = await db.SigningKeys.AsNoTracking().ToDictionaryAsync(k => k.Fingerprint, k => k.PublicKeyPem, cancellationToken);
        var rows = await db.Digests.AsNoTracking()
            .Where(d => d.AreaKey == areaKey && d.PeriodEnd > start && d.PeriodStart < end)
            .ToDictionaryAsync(d => d.Key, cancellationToken);
        var newest = rows.Values.Where(d => d.PeriodEnd <= end).OrderByDescending(d => d.PeriodEnd).FirstOrDefault()
            ?? rows.Values.OrderByDescending(d => d.PeriodEnd).FirstOrDefault();

        var results = new List<TrailObjectResult>();
        var digests = 0;
        var files = 0;
        string? key = newest?.Key;
        string? expectedHash = null;
        var bucket = options.Value.Bucket;
        while (key is not null)
        {
            rows.TryGetValue(key, out var row);
            digests++;
            var (content, metadata) = await GetAsync(bucket, key, cancellationToken);
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
                files++;
                var (fileContent, _) = await GetAsync(bucket, fileKey, cancellationToken);
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

        return new TrailValidationReport(areaKey, start, end, results.All(r => r.Status == TrailObjectStatus.Valid), digests, files, results);
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

        if (document.DigestS3Object != key)
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
            .Where(f => f.AreaKey == row.AreaKey && f.CreatedAt >= row.PeriodStart && f.CreatedAt < row.PeriodEnd && f.Sha256 != null)
            .OrderBy(f => f.Id)
            .Select(f => new { f.Key, f.Sha256 })
            .ToListAsync(cancellationToken);
        return listed.Select(f => (f.Key, f.Sha256!)).ToList();
    }

    private async Task<(byte[]? Content, IDictionary<string, string> Metadata)> GetAsync(string bucket, string key, CancellationToken cancellationToken)
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
