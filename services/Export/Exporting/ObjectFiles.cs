using System.Diagnostics.Metrics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.ServiceDefaults;
using Npgsql;

namespace CallLogs.Export.Exporting;

/// <summary>
/// The gzip CSV files of objects, built in a local folder and kept until the object is written, so an upload that
/// fails is retried with the file already built. A file is named after its object and a fingerprint of everything
/// that decides its content (the object's records range, the profile's snapshot with its masking, the periods it was
/// enabled): a change to any of them builds a new file, nothing else does. Files nobody came back for are removed
/// after a day.
/// </summary>
public sealed partial class ObjectFiles(NpgsqlDataSource dataSource, TimeProvider clock, ILogger<ObjectFiles> logger)
{
    public static readonly string Folder = Path.Combine(Path.GetTempPath(), "calllogs-export");

    private static readonly Counter<long> Built = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.files_built", description: "Gzip CSV files built for objects (a retried upload reuses its file)");

    /// <summary>A built object file: where it is, how many records, the SHA-256 of its CSV, its size.</summary>
    public sealed record BuiltFile(string Path, int Records, string Sha256, long Bytes);

    private sealed record Meta(int Records, string Sha256);

    /// <summary>The object's file, built now unless an identical one is there from an earlier try.</summary>
    public async Task<BuiltFile> GetOrBuildAsync(ExportObject item, Guid areaId, ExportProfileSnapshot profile, string snapshotJson,
        IReadOnlyList<EnabledPeriod> periods, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Folder);
        var name = $"{item.Id}-{Fingerprint(item, snapshotJson, periods)}";
        var path = Path.Combine(Folder, name + ".csv.gz");
        var metaPath = Path.Combine(Folder, name + ".json");
        if (File.Exists(path) && File.Exists(metaPath)
            && JsonSerializer.Deserialize<Meta>(await File.ReadAllTextAsync(metaPath, cancellationToken)) is { } known)
        {
            return new BuiltFile(path, known.Records, known.Sha256, new FileInfo(path).Length);
        }

        foreach (var stale in Directory.EnumerateFiles(Folder, $"{item.Id}-*"))
        {
            File.Delete(stale);
        }

        var partial = Path.Combine(Folder, $"{name}.{Guid.NewGuid():N}.partial");
        try
        {
            var (records, sha256) = await WriteCsvGzipAsync(item, areaId, profile, partial, cancellationToken);
            await File.WriteAllTextAsync(metaPath, JsonSerializer.Serialize(new Meta(records, sha256)), cancellationToken);
            File.Move(partial, path, overwrite: true);
            Built.Add(1);
            return new BuiltFile(path, records, sha256, new FileInfo(path).Length);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>Removes the object's files once it is written (or given up).</summary>
    public static void Delete(long objectId)
    {
        if (Directory.Exists(Folder))
        {
            foreach (var file in Directory.EnumerateFiles(Folder, $"{objectId}-*"))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>Removes files older than a day: objects written or given up by an instance that stopped before cleaning up.</summary>
    public int RemoveStale()
    {
        if (!Directory.Exists(Folder))
        {
            return 0;
        }

        var removed = 0;
        var before = clock.GetUtcNow().UtcDateTime.AddDays(-1);
        foreach (var file in new DirectoryInfo(Folder).EnumerateFiles())
        {
            if (file.LastWriteTimeUtc < before)
            {
                file.Delete();
                removed++;
            }
        }

        if (removed > 0)
        {
            LogRemoved(logger, removed, Folder);
        }

        return removed;
    }

    private static string Fingerprint(ExportObject item, string snapshotJson, IReadOnlyList<EnabledPeriod> periods)
    {
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{item.Id}|{item.SeqFrom}|{item.SeqTo}|{item.HourStart:O}|{snapshotJson}");
        foreach (var period in periods.OrderBy(p => p.From))
        {
            text.Append(CultureInfo.InvariantCulture, $"|{period.From:O}-{period.Until:O}");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    /// <summary>The object's records as gzip CSV (header, RFC 4180 rows, UTF-8); returns the record count and the SHA-256 of the uncompressed CSV.</summary>
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
                Csv.AppendRow(line, ExportRules.Mask(reader.GetFieldValue<string?[]>(0), profile.MaskSensitiveData, profile.UnmaskedCharacters),
                    profile.EscapeCsvFormulas);
                await writer.WriteAsync(line, cancellationToken);
                records++;
            }
        }

        return (records, Convert.ToHexStringLower(sha256.Hash!));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} object files older than a day from {Folder}")]
    private static partial void LogRemoved(ILogger logger, int count, string folder);
}
