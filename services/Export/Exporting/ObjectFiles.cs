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
using CallLogs.ServiceDefaults.Secrets;
using Npgsql;

namespace CallLogs.Export.Exporting;

/// <summary>
/// The gzip CSV files of objects, built in a local folder and kept until the object is written, so an upload that
/// fails is retried with the file already built. A file is named after its object and a fingerprint of everything
/// that decides its content (the object's records range, the profile's snapshot with its masking, the periods it was
/// enabled): a change to any of them builds a new file, nothing else does. Files nobody came back for are removed
/// after a day.
/// </summary>
public sealed partial class ObjectFiles(NpgsqlDataSource dataSource, SecretSeal seal, TimeProvider clock, ILogger<ObjectFiles> logger)
{
    public static readonly string Folder = Path.Combine(Path.GetTempPath(), "calllogs-export");

    private static readonly Counter<long> Built = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.files_built", description: "Gzip CSV files built for objects (a retried upload reuses its file)");

    /// <summary>A built object file: where it is, how many records, the SHA-256 of its CSV, its size.</summary>
    public sealed record BuiltFile(string Path, int Records, string Sha256, long Bytes);

    /// <summary>An object with what decides its file: its profile (parsed, and the snapshot's JSON) and the periods the profile was enabled.</summary>
    public sealed record Part(ExportObject Item, ExportProfileSnapshot Profile, string SnapshotJson, IReadOnlyList<EnabledPeriod> Periods);

    private sealed record Meta(int Records, string Sha256);

    /// <summary>
    /// The files of objects of one area and hour, in the order given, each built now unless an identical one is there
    /// from an earlier try. Those built now are written from one read of the hour's staged rows, in which each
    /// object's condition is a column, so the area's profiles do not each read the same rows.
    /// </summary>
    public async Task<IReadOnlyList<BuiltFile>> GetOrBuildAsync(Guid areaId, IReadOnlyList<Part> parts, CancellationToken cancellationToken)
    {
        EnsurePrivateFolder();
        var files = new BuiltFile[parts.Count];
        var building = new List<(int Index, string Name, CsvGzipFile File)>();
        try
        {
            for (var i = 0; i < parts.Count; i++)
            {
                var name = $"{parts[i].Item.Id}-{Fingerprint(parts[i])}";
                if (await KnownAsync(name, cancellationToken) is { } known)
                {
                    files[i] = known;
                    continue;
                }

                foreach (var stale in Directory.EnumerateFiles(Folder, $"{parts[i].Item.Id}-*"))
                {
                    File.Delete(stale);
                }

                building.Add((i, name, new CsvGzipFile(Path.Combine(Folder, $"{name}.{Guid.NewGuid():N}.partial"))));
            }

            if (building.Count > 0)
            {
                await WriteRowsAsync(areaId, building.Select(b => (parts[b.Index], b.File)).ToList(), cancellationToken);
            }

            foreach (var (index, name, file) in building)
            {
                var (records, sha256) = await file.FinishAsync();
                var path = Path.Combine(Folder, name + ".csv.gz");
                await File.WriteAllTextAsync(Path.Combine(Folder, name + ".json"), JsonSerializer.Serialize(new Meta(records, sha256)), cancellationToken);
                File.Move(file.Path, path, overwrite: true);
                Built.Add(1);
                files[index] = new BuiltFile(path, records, sha256, new FileInfo(path).Length);
            }
        }
        finally
        {
            foreach (var (_, _, file) in building)
            {
                await file.DisposeAsync();
                File.Delete(file.Path);
            }
        }

        return files;
    }

    private static async Task<BuiltFile?> KnownAsync(string name, CancellationToken cancellationToken)
    {
        var (path, metaPath) = (Path.Combine(Folder, name + ".csv.gz"), Path.Combine(Folder, name + ".json"));
        return File.Exists(path) && File.Exists(metaPath)
            && JsonSerializer.Deserialize<Meta>(await File.ReadAllTextAsync(metaPath, cancellationToken)) is { } known
                ? new BuiltFile(path, known.Records, known.Sha256, new FileInfo(path).Length)
                : null;
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

    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// <see cref="Folder"/>, open to this user only: its files hold records with their secrets open (an unmasked
    /// profile's API keys). A folder of that name that this user may not make private (another user's) is refused.
    /// </summary>
    private static void EnsurePrivateFolder()
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Folder);
            return;
        }

        Directory.CreateDirectory(Folder, Private);
        if (File.GetUnixFileMode(Folder) != Private)
        {
            try
            {
                File.SetUnixFileMode(Folder, Private);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException($"{Folder} belongs to another user and cannot be made private to this one; remove it.", e);
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

    private static string Fingerprint(Part part)
    {
        var item = part.Item;
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{item.Id}|{item.SeqFrom}|{item.SeqTo}|{item.HourStart:O}|{part.SnapshotJson}");
        foreach (var period in part.Periods.OrderBy(p => p.From))
        {
            text.Append(CultureInfo.InvariantCulture, $"|{period.From:O}-{period.Until:O}");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    /// <summary>
    /// The rows of every object being built, in order, from one query over the staged rows of their area and hour in
    /// the union of their ranges; a column per object says whether the row is one of its records
    /// (<see cref="ObjectRecords.Condition"/>). <c>OFFSET 0</c> keeps PostgreSQL from copying those conditions into the
    /// outer <c>WHERE</c>, which would test each of them twice.
    /// </summary>
    private async Task WriteRowsAsync(Guid areaId, IReadOnlyList<(Part Part, CsvGzipFile File)> building, CancellationToken cancellationToken)
    {
        var hour = building[0].Part.Item.HourStart;
        if (building.Any(b => b.Part.Item.HourStart != hour))
        {
            throw new ArgumentException("The objects built from one read must be of one hour.", nameof(building));
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var query = new NpgsqlCommand { Connection = connection };
        var matches = building.Select((b, i) =>
            $"({ObjectRecords.Condition(query.Parameters, $"o{i}_", areaId, b.Part.Profile, hour, b.Part.Item.SeqFrom, b.Part.Item.SeqTo, seal)}) AS m{i}");
        var names = string.Join(", ", building.Select((_, i) => $"m{i}"));
        query.Parameters.AddWithValue("area", areaId);
        query.Parameters.AddWithValue("hour", hour);
        query.Parameters.AddWithValue("next_hour", hour.AddHours(1));
        query.Parameters.AddWithValue("seq_from", building.Min(b => b.Part.Item.SeqFrom));
        query.Parameters.AddWithValue("seq_to", building.Max(b => b.Part.Item.SeqTo));
        query.CommandText = $"""
            SELECT values, {names} FROM (
              SELECT s.values, s.request_time, s.request_uuid, {string.Join(",\n    ", matches)}
              FROM staged_records s
              WHERE s.area_id = @area AND s.request_time >= @hour AND s.request_time < @next_hour AND s.seq > @seq_from AND s.seq <= @seq_to
              OFFSET 0) staged
            WHERE {names.Replace(", ", " OR ", StringComparison.Ordinal)}
            ORDER BY request_time, request_uuid
            """;
        await using var reader = await query.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // Staged with their secrets sealed: opened once for every object, each masking them as its profile says.
            var values = seal.Open(reader.GetFieldValue<string?[]>(0));
            for (var i = 0; i < building.Count; i++)
            {
                if (reader.GetBoolean(i + 1))
                {
                    await building[i].File.WriteAsync(values, building[i].Part.Profile, cancellationToken);
                }
            }
        }
    }

    /// <summary>
    /// One object's gzip CSV (header, RFC 4180 rows, UTF-8) being written, with its record count and the SHA-256 of the
    /// uncompressed CSV. Records are written unmasked or masked as its profile says.
    /// </summary>
    private sealed class CsvGzipFile : IAsyncDisposable
    {
        private readonly SHA256 _sha256 = SHA256.Create();
        private readonly StreamWriter _writer;
        private readonly StringBuilder _line = new(1024);
        private int _records;

        public CsvGzipFile(string path)
        {
            Path = path;
            var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            var hashed = new CryptoStream(new GZipStream(output, CompressionLevel.Fastest), _sha256, CryptoStreamMode.Write);
            // Buffers under the large object heap's threshold: a read builds several files at once, and arrays on that
            // heap wait for a full collection.
            _writer = new StreamWriter(hashed, new UTF8Encoding(false), 1 << 14);
            Csv.AppendRow(_line, CallRecordFields.Names);
        }

        public string Path { get; }

        public async Task WriteAsync(string?[] values, ExportProfileSnapshot profile, CancellationToken cancellationToken)
        {
            Csv.AppendRow(_line, ExportRules.Mask(values, profile.MaskSensitiveData, profile.UnmaskedCharacters), profile.EscapeCsvFormulas);
            if (_line.Length >= 1 << 14)
            {
                await FlushLineAsync(cancellationToken);
            }

            _records++;
        }

        /// <summary>Writes what is left and closes the file; returns its record count and the SHA-256 of its CSV.</summary>
        public async Task<(int Records, string Sha256)> FinishAsync()
        {
            await FlushLineAsync(CancellationToken.None);
            await _writer.DisposeAsync();
            return (_records, Convert.ToHexStringLower(_sha256.Hash!));
        }

        public async ValueTask DisposeAsync()
        {
            await _writer.DisposeAsync();
            _sha256.Dispose();
        }

        private async Task FlushLineAsync(CancellationToken cancellationToken)
        {
            await _writer.WriteAsync(_line, cancellationToken);
            _line.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} object files older than a day from {Folder}")]
    private static partial void LogRemoved(ILogger logger, int count, string folder);
}
