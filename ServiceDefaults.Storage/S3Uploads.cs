using Amazon.S3.Model;

namespace CallLogs.ServiceDefaults.Storage;

/// <summary>Upload requests that store the bytes as sent (no aws-chunked framing, which S3-compatible servers keep as content).</summary>
public static class S3Uploads
{
    public static PutObjectRequest Put(string bucket, string key, Stream body, string contentType) => new()
    {
        BucketName = bucket,
        Key = key,
        InputStream = body,
        ContentType = contentType,
        UseChunkEncoding = false,
        AutoCloseStream = false,
    };

    public static UploadPartRequest PartOfFile(string bucket, string key, string uploadId, int partNumber, string path, long position, long size) => new()
    {
        BucketName = bucket,
        Key = key,
        UploadId = uploadId,
        PartNumber = partNumber,
        FilePath = path,
        FilePosition = position,
        PartSize = size,
        UseChunkEncoding = false,
    };
}
