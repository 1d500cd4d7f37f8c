// Export benchmark: 100 profiles (20 areas, 5 profiles each with different filters and masking) and 1,000,000 call
// records over the 3 hours before the current one, posted to the ingest service (a real process) while the export
// service is stopped, then staged by the export service (a real process) from the queue ingest filled: ingest's
// accepted rate and the export's staging rate are measured in the same run, each with the machine to itself. Hours
// are closed one at a time: the service is started with a grace period that makes exactly the next hour "ended plus
// grace" at that moment, as if its grace had just run out, and the time from then to the hour's last object in S3 is
// measured (process start included). Peak memory is the service process's peak resident set (VmHWM). Baselines from
// the same run: raw binary COPY of the same records, and the raw write of one hour's records as gzip CSV with one S3
// PUT.
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using CallLogs.Bench.Export;
using CallLogs.Contracts;
using CallLogs.Export.Consumers;
using CallLogs.Export.Domain;
using CallLogs.ServiceDefaults.Storage;
using CallLogs.Testing;
using CallLogs.TestServers;
using MassTransit;
using Npgsql;
using NpgsqlTypes;

const int Areas = 20;
const int ProfilesPerArea = 5;
const int Hours = 3;
const int BatchSize = 1_000;
var total = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
var hour0 = ExportRules.HourOf(DateTimeOffset.UtcNow).AddHours(-Hours);

var infra = new Infrastructure();
await infra.InitializeAsync();
var vhost = new Uri(await infra.NewRabbitMqVirtualHostAsync());
var database = $"bench_{Guid.NewGuid():N}";
var ingestDatabase = $"bench_{Guid.NewGuid():N}";
try
{
    var areas = Enumerable.Range(0, Areas).Select(_ => Guid.NewGuid()).ToArray();
    var bucket = await infra.NewBucketAsync();
    Console.WriteLine($"servers: {infra.Source}; {total:N0} records over {Hours} hours from {hour0:HH:mm}, {Areas} areas x {ProfilesPerArea} profiles");

    var copyRate = await RawCopyAsync(infra, areas, total / 4);
    Console.WriteLine($"raw binary COPY: {copyRate:N0} records/s");
    var putRate = await RawGzipPutAsync(infra, bucket, total / Hours);
    Console.WriteLine($"raw gzip CSV + one PUT: {putRate:N0} records/s");

    var endpoints = new InfrastructureEndpoints(vhost, infra.RabbitMqManagementUri, infra.PostgresAdminConnectionString, infra.S3ConnectionString);
    var connection = new NpgsqlConnectionStringBuilder(infra.PostgresAdminConnectionString) { Database = database }.ConnectionString;
    var postmaster = await PostmasterPidAsync(infra.PostgresAdminConnectionString);

    // The export service learns the profiles (and declares its queue), then stops while ingest fills that queue.
    var stagingGrace = DateTimeOffset.UtcNow - hour0 + TimeSpan.FromMinutes(30); // every hour still open
    var profiles = areas.SelectMany(area => Enumerable.Range(0, ProfilesPerArea).Select(p => Profiles.Make(area, bucket, p, hour0))).ToList();
    await using (var learning = await StartExportAsync(endpoints, infra.SigningKey, database, stagingGrace))
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit => rabbit.Host(vhost));
        await bus.StartAsync();
        foreach (var profile in profiles)
        {
            await bus.Publish(new ExportProfileCreated { Profile = profile });
        }

        await Eventually.Until(async () => await CountAsync(connection, "SELECT count(*) FROM profiles") == profiles.Count, TimeSpan.FromMinutes(2), "profiles known");
        await bus.StopAsync();
    }

    var exportQueue = new KebabCaseEndpointNameFormatter("export", includeNamespace: false).Consumer<StageCallRecordsConsumer>();
    var ingested = await IngestPhase.RunAsync(infra, endpoints, ingestDatabase, vhost, exportQueue, areas, hour0, Hours, total, BatchSize, () => PostgresCpu(postmaster));
    Console.WriteLine($"ingest accepted: {ingested.AcceptedRate:N0} records/s; accepted, stored and published: {ingested.StoredAndPublishedRate:N0} records/s; CPU per record: ingest {ingested.ServiceCpu:N1} µs, PostgreSQL {ingested.PostgresCpu:N1} µs");

    // Staging: the export service drains the queue ingest filled, timed from its first record staged (its start excluded,
    // as ingest's is) to its last.
    var peaks = new List<long>();
    TimeSpan stagingTime;
    (double Service, double Postgres) stagingCpu;
    const string Drawn = "SELECT COALESCE(max(last_value), 0) FROM pg_sequences WHERE sequencename = 'staged_records_seq_seq'";
    await using (var staging = await StartExportAsync(endpoints, infra.SigningKey, database, stagingGrace, waitHealthy: false))
    {
        using var process = Process.GetProcessById(staging.ProcessId!.Value);
        for (var waited = Stopwatch.StartNew(); await CountAsync(connection, Drawn) == 0; await Task.Delay(20))
        {
            if (process.HasExited || waited.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new InvalidOperationException("The export service staged nothing within two minutes of its start.");
            }
        }

        var clock = Stopwatch.StartNew();
        process.Refresh();
        var (serviceCpu, postgresCpu) = (process.TotalProcessorTime, PostgresCpu(postmaster));
        // Watched by the staging sequence (every record draws one number) and counted only once it has drawn them all: a
        // count(*) of the growing table four times a second was most of PostgreSQL's CPU while staging before.
        await Eventually.Until(async () => process.HasExited
                ? throw new InvalidOperationException("The export service exited while staging (its exit code is printed above).")
                : await CountAsync(connection, Drawn) >= total,
            TimeSpan.FromMinutes(30), "staging numbers drawn");
        await Eventually.Until(async () => await CountAsync(connection, "SELECT count(*) FROM staged_records") == total, TimeSpan.FromMinutes(5), "all staged");
        stagingTime = clock.Elapsed;
        process.Refresh();
        stagingCpu = ((process.TotalProcessorTime - serviceCpu).TotalMicroseconds / total, (PostgresCpu(postmaster) - postgresCpu).TotalMicroseconds / total);
        peaks.Add(PeakResidentBytes(staging));
    }

    var stagingRate = total / stagingTime.TotalSeconds;
    Console.WriteLine($"staged: {stagingRate:N0} records/s; peak resident {peaks[0] / 1048576.0:N0} MB; CPU per record: export {stagingCpu.Service:N1} µs, PostgreSQL {stagingCpu.Postgres:N1} µs");

    var hourResults = new List<(DateTimeOffset Hour, double Seconds, long Records, long Peak, double ServiceCpu, double PostgresCpu)>();
    for (var h = 0; h < Hours; h++)
    {
        var hour = hour0.AddHours(h);
        var postgresBefore = PostgresCpu(postmaster);
        var clock = Stopwatch.StartNew();
        await using var export = await StartExportAsync(endpoints, infra.SigningKey, database, DateTimeOffset.UtcNow - hour.AddHours(1), waitHealthy: false);
        var sql = $"SELECT count(*) FROM export_objects WHERE uploaded AND hour_start = '{hour.UtcDateTime:O}'";
        await Eventually.Until(async () => await CountAsync(connection, sql) == Areas * ProfilesPerArea, TimeSpan.FromMinutes(10), $"hour {hour:HH} exported");
        var seconds = clock.Elapsed.TotalSeconds;
        var records = await CountAsync(connection, $"SELECT COALESCE(sum(record_count), 0) FROM export_objects WHERE hour_start = '{hour.UtcDateTime:O}'");
        var peak = PeakResidentBytes(export);
        using var process = Process.GetProcessById(export.ProcessId!.Value);
        var (serviceCpu, postgresCpu) = (process.TotalProcessorTime.TotalMicroseconds / records, (PostgresCpu(postmaster) - postgresBefore).TotalMicroseconds / records);
        hourResults.Add((hour, seconds, records, peak, serviceCpu, postgresCpu));
        Console.WriteLine($"hour {hour:HH}:00: {records:N0} records in {Areas * ProfilesPerArea} objects, {seconds:N1} s from the end of its grace ({records / seconds:N0} records/s); peak resident {peak / 1048576.0:N0} MB; CPU per record written: export {serviceCpu:N1} µs, PostgreSQL {postgresCpu:N1} µs");
    }

    var exported = hourResults.Sum(r => r.Records);
    var exportRate = exported / hourResults.Sum(r => r.Seconds);
    var peakMb = Math.Max(peaks[0], hourResults.Max(r => r.Peak)) / 1048576.0;
    string F(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
    string R(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
    var rows = string.Join("\n", hourResults.Select(r =>
        $"| {r.Hour:HH}:00–{r.Hour.AddHours(1):HH}:00 | {F(r.Records)} | {r.Seconds:0.0} s | {F(r.Records / r.Seconds)} | {R(r.Records / r.Seconds / putRate)} | {r.Peak / 1048576.0:N0} MB | {r.ServiceCpu:N1} µs, {r.PostgresCpu:N1} µs |"));
    await BenchmarkReport.WriteSectionAsync("export-bench", $"""
        ## Export: hours closed into S3 (issue 5)

        `dotnet run -c Release --project bench/ExportBench` — {F(total)} call records over {Hours} hours in {Areas} areas and
        {Areas * ProfilesPerArea} export profiles ({ProfilesPerArea} per area: no filter; response code is 200; api key is not one of the 50 keys;
        API definition is one of two; masked, response code is not 500), posted to the ingest service (a real process, real
        HTTP, batches of {F(BatchSize)}, four at a time, each area's with its gateway token) while the export service is stopped,
        then staged by the export service (a real process, one instance) from the queue ingest filled, timed from its first
        record staged to its last: ingest's accepted rate and the staging rate are measured in the same run, each with the
        machine to itself. Each hour is then closed by starting the service with a grace period that ends right
        then, and timed until its {Areas * ProfilesPerArea} objects are in S3 (process start included). Peak memory is the service
        process's peak resident set (VmHWM). Servers: {infra.Source}. Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.

        | baseline, same run | records/s |
        |---|---:|
        | raw binary COPY of the same records into a plain table | {F(copyRate)} |
        | raw gzip CSV of one hour's records ({F(total / Hours)}) and one S3 PUT | {F(putRate)} |
        | ingest: records accepted (same records, same run) | {F(ingested.AcceptedRate)} (accepted, stored and published: {F(ingested.StoredAndPublishedRate)}) |
        | **export: records staged (consumed from RabbitMQ, COPYed)** | **{F(stagingRate)}** ({R(stagingRate / copyRate)} of raw COPY, **{R(stagingRate / ingested.AcceptedRate)} of ingest's accepted rate**); peak {peaks[0] / 1048576.0:N0} MB |

        CPU per record (user + system, all threads) while ingest took the records: the ingest process {ingested.ServiceCpu:N1} µs,
        PostgreSQL (every process of the server) {ingested.PostgresCpu:N1} µs; while staging: the export process {stagingCpu.Service:N1} µs,
        PostgreSQL {stagingCpu.Postgres:N1} µs. On a busy machine these move less than the rates.

        | hour | records written | end of grace → last object in S3 | records/s | ratio to raw gzip+PUT | peak memory | CPU per record written: export (its start included), PostgreSQL |
        |---|---:|---:|---:|---:|---:|---:|
        {rows}

        Records exported per second over the three hours: **{F(exportRate)}** (a record taken by several profiles counts once per
        profile). Peak memory of the export service: **{peakMb:N0} MB**.

        Targets: every object of an hour in S3 within 60 s of the end of the grace period; peak memory under 300 MB; staging
        at least 1.2 times ingest's accepted rate (issue 20).
        """);
}
finally
{
    await infra.DropDatabaseAsync(database);
    await infra.DropDatabaseAsync(ingestDatabase);
    await infra.DeleteRabbitMqVirtualHostAsync(vhost.ToString());
    await infra.DisposeAsync();
}

static async Task<ServiceResource> StartExportAsync(InfrastructureEndpoints endpoints, string signingKey, string database, TimeSpan grace, bool waitHealthy = true)
{
    var port = Ports.Free();
    var environment = BenchmarkReport.ServiceEnvironmentFor("Export", endpoints, signingKey, new Dictionary<string, int> { ["Export"] = port }, database);
    environment["Logging__LogLevel__CallLogs.Export.Exporting.HourlyExporter"] = "Information";
    environment["Export__GracePeriod"] = grace.ToString("c", CultureInfo.InvariantCulture);
    environment["Export__PollInterval"] = "00:00:01";
    var service = new ServiceResource("Export", port, environment, line =>
    {
        if (line.Contains("Export pass", StringComparison.Ordinal) || line.StartsWith("exited with code", StringComparison.Ordinal))
        {
            Console.WriteLine($"  export service: {line.Trim()}");
        }
    });
    service.Start();
    if (waitHealthy)
    {
        await Eventually.Until(() => service.State == ResourceState.Healthy, TimeSpan.FromMinutes(2), "export healthy");
    }
    else
    {
        await Eventually.Until(() => service.ProcessId is not null, TimeSpan.FromMinutes(1), "export started");
    }

    return service;
}

/// <summary>The PostgreSQL server's postmaster, from the data directory's postmaster.pid (the benchmark connects as a superuser).</summary>
static async Task<int> PostmasterPidAsync(string connectionString)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("SHOW data_directory", connection);
    var directory = (string)(await command.ExecuteScalarAsync())!;
    return int.Parse(File.ReadLines(Path.Combine(directory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
}

/// <summary>
/// CPU used by the whole server so far: the postmaster, the backends that ended (reaped, so in its children's times)
/// and those still running.
/// </summary>
static TimeSpan PostgresCpu(int postmaster)
{
    const double TicksPerSecond = 100; // USER_HZ on Linux
    long Ticks(int pid, bool withChildren)
    {
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // After "pid (comm)": state ppid ... utime(12) stime(13) cutime(14) cstime(15), counted from state = 1.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return withChildren ? ticks + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture) : ticks;
    }

    var total = Ticks(postmaster, withChildren: true);
    foreach (var directory in Directory.EnumerateDirectories("/proc"))
    {
        if (int.TryParse(Path.GetFileName(directory), out var pid) && pid != postmaster)
        {
            try
            {
                var status = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (int.Parse(status[1], CultureInfo.InvariantCulture) == postmaster) // its parent: field 4 of proc(5), not 5, its process group (a backend leads its own)
                {
                    total += Ticks(pid, withChildren: false);
                }
            }
            catch (IOException)
            {
                // ended meanwhile: its time is in the postmaster's children's now
            }
        }
    }

    return TimeSpan.FromSeconds(total / TicksPerSecond);
}

/// <summary>The process's peak resident set so far (VmHWM in /proc), in bytes.</summary>
static long PeakResidentBytes(ServiceResource service)
{
    var line = File.ReadLines($"/proc/{service.ProcessId}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}

static async Task<long> CountAsync(string connectionString, string sql)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection);
    return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
}

static Task<double> RawCopyAsync(Infrastructure infra, Guid[] areas, int count) =>
    CopyBaseline.RowsPerSecondAsync(infra, "area_id uuid, request_uuid text, request_time timestamptz, api_key text, http_status_code int, values text[]",
        Enumerable.Range(0, count).Select(i => SampleRecords.Make(DateTimeOffset.UtcNow, 1, count, i)).Chunk(1_000).ToList(), async (copy, r) =>
        {
            await copy.WriteAsync(areas[0], NpgsqlDbType.Uuid);
            await copy.WriteAsync(r.RequestUuid, NpgsqlDbType.Text);
            await copy.WriteAsync(r.RequestTime.UtcDateTime, NpgsqlDbType.TimestampTz);
            await copy.WriteAsync(r.ApiKey, NpgsqlDbType.Text);
            await copy.WriteAsync(r.HttpStatusCode ?? 0, NpgsqlDbType.Integer);
            await copy.WriteAsync(CallRecordFields.Values(r), NpgsqlDbType.Array | NpgsqlDbType.Text);
        });

static async Task<double> RawGzipPutAsync(Infrastructure infra, string bucket, int count)
{
    var records = Enumerable.Range(0, count).Select(i => CallRecordFields.Values(SampleRecords.Make(DateTimeOffset.UtcNow, 1, count, i))).ToList();
    var file = Path.GetTempFileName();
    try
    {
        var clock = Stopwatch.StartNew();
        await using (var output = File.Create(file))
        await using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        await using (var writer = new StreamWriter(gzip, new UTF8Encoding(false), 1 << 16))
        {
            var line = new StringBuilder(1024);
            foreach (var values in records)
            {
                line.Clear();
                Csv.AppendRow(line, values);
                await writer.WriteAsync(line);
            }
        }

        using var s3 = infra.CreateS3Client();
        await using (var body = File.OpenRead(file))
        {
            await s3.PutObjectAsync(S3Uploads.Put(bucket, "baseline.csv.gz", body, "application/gzip"));
        }

        return count / clock.Elapsed.TotalSeconds;
    }
    finally
    {
        File.Delete(file);
    }
}

internal static class Profiles
{
    public static ExportProfileSnapshot Make(Guid area, string bucket, int kind, DateTimeOffset from) => new()
    {
        ProfileId = Guid.NewGuid(),
        AreaId = area,
        Name = $"profile {kind}",
        S3Bucket = $"{bucket}/bench",
        MaskSensitiveData = kind == 4,
        UnmaskedCharacters = 4,
        CollectFrom = from,
        Filters = kind switch
        {
            1 => [new ExportFilter { Field = FilterField.ResponseCode, Operator = FilterOperator.Is, Value = "200" }],
            2 => [new ExportFilter { Field = FilterField.ApiKey, Operator = FilterOperator.IsNot, Value = SampleRecords.Key(0) }],
            3 => [new ExportFilter { Field = FilterField.ApiDefinition, Operator = FilterOperator.Is, Value = "svc-0" },
                  new ExportFilter { Field = FilterField.ApiDefinition, Operator = FilterOperator.Is, Value = "Maps API" }],
            4 => [new ExportFilter { Field = FilterField.ResponseCode, Operator = FilterOperator.IsNot, Value = "500" }],
            _ => [],
        },
        Enabled = true,
        Version = 1,
        UpdatedAt = DateTimeOffset.UtcNow,
    };
}
