// Telephony benchmark: CEL rows per second turned into call logs by the batch generation (100,000 rows,
// 10 rows per call), beside the raw PostgreSQL binary COPY rate of the same rows into the same table,
// measured in the same run on the same server. Also: the pure generator alone (no I/O), and the same rows
// generated in runs of 20,000 (the reference implementation's cap per run).
using System.Diagnostics;
using CallLogs.Ingest.Data.Telephony;
using CallLogs.Ingest.Domain.Telephony;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

const int Calls = 10_000;

// WebApplicationFactory outside a test project: tell it where the service's content root is
Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_CALLLOGS_INGEST",
    Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../services/Ingest")));
var infra = new Infrastructure();
await infra.InitializeAsync();
try
{
    await using var service = await ServiceFactory<TelephonyDbContext>.StartAsync(infra, "ingest",
        new Dictionary<string, string?> { ["Telephony:RunScheduledJobs"] = "false", ["Logging:LogLevel:Default"] = "Warning" });
    var connectionString = service.Configuration["ConnectionStrings:ingestdb"]!;
    var start = new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    var rows = Enumerable.Range(0, Calls).SelectMany(i => Cels.Call(i, start.AddSeconds(i * 20))).ToList();
    Console.WriteLine($"servers: {infra.Source}; {rows.Count:N0} CEL rows, {Calls:N0} calls");

    // pure generator, no I/O
    var clock = Stopwatch.StartNew();
    var logs = CallLogGenerator.Generate(rows, TelephonyDirectory.Empty);
    var pure = rows.Count / clock.Elapsed.TotalSeconds;
    Console.WriteLine($"pure generator: {logs.Count:N0} call logs, {pure:N0} rows/s");

    // baseline: raw binary COPY of the rows (area A), which also loads them for the generation runs
    var areaOne = Guid.NewGuid();
    var copy = await Cels.CopyAsync(connectionString, areaOne, rows);
    Console.WriteLine($"raw binary COPY: {copy:N0} rows/s");
    var areaTwo = Guid.NewGuid();
    await Cels.CopyAsync(connectionString, areaTwo, rows);

    // one batch generation of all 100,000 rows
    double one;
    await using (var scope = service.Services.CreateAsyncScope())
    {
        var generation = scope.ServiceProvider.GetRequiredService<TelephonyGeneration>();
        clock.Restart();
        var result = await generation.FromCountAsync(areaOne, rows.Count, CancellationToken.None);
        one = result.CelRows / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"batch generation, one run of {rows.Count:N0}: {result.Created:N0} call logs from {result.CelRows:N0} rows, {one:N0} rows/s");
    }

    // the same rows in runs of 20,000 newest unprocessed rows
    clock.Restart();
    var (runs, created, read) = (0, 0, 0);
    while (true)
    {
        await using var scope = service.Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<TelephonyGeneration>().FromCountAsync(areaTwo, 20_000, CancellationToken.None);
        if (result.CelRows == 0) break;
        (runs, created, read) = (runs + 1, created + result.Created, read + result.CelRows);
    }
    var capped = read / clock.Elapsed.TotalSeconds;
    Console.WriteLine($"batch generation, {runs} runs of 20,000: {created:N0} call logs from {read:N0} rows, {capped:N0} rows/s");
    Console.WriteLine($"ratio one run / COPY: {one / copy:P1}; runs of 20,000 / COPY: {capped / copy:P1}");
}
finally
{
    await infra.DisposeAsync();
}

internal static class Cels
{
    private static long _id;

    /// <summary>An answered internal call: 10 rows, two channels.</summary>
    public static IEnumerable<CelRow> Call(int n, DateTimeOffset at)
    {
        var linked = $"{1_700_000_000 + n}.{n}";
        var callee = $"{1_700_000_000 + n}.{n}9";
        CelRow Row(string type, double s, string chan, string uid, string name, string num) => new()
        {
            Id = ++_id, EventType = type, EventTime = at.AddSeconds(s), ChanName = chan, UniqueId = uid, LinkedId = linked,
            CidName = name, CidNum = num, Exten = type == "CHAN_START" && uid == linked ? "1002" : "s", Context = "default",
        };
        var (a, b) = ($"SIP/alice{n % 50}-{n:x8}", $"SIP/bob{n % 40}-{n + 1:x8}");
        yield return Row("CHAN_START", 0, a, linked, "Alice", "1001");
        yield return Row("APP_START", 0.1, a, linked, "Alice", "1001");
        yield return Row("CHAN_START", 0.2, b, callee, "Bob", "1002");
        yield return Row("ANSWER", 2, b, callee, "Bob", "1002");
        yield return Row("BRIDGE_ENTER", 2.1, a, linked, "Alice", "1001");
        yield return Row("BRIDGE_ENTER", 2.2, b, callee, "Bob", "1002");
        yield return Row("HANGUP", 9, b, callee, "Bob", "1002");
        yield return Row("CHAN_END", 9.1, b, callee, "Bob", "1002");
        yield return Row("CHAN_END", 9.2, a, linked, "Alice", "1001");
        yield return Row("LINKEDID_END", 9.3, a, linked, "Alice", "1001");
    }

    public static async Task<double> CopyAsync(string connectionString, Guid area, IReadOnlyList<CelRow> rows)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var clock = Stopwatch.StartNew();
        await using (var import = await connection.BeginBinaryImportAsync(
            "COPY telephony_cel (area_id, id, event_type, event_time, cid_name, cid_num, exten, context, chan_name, unique_id, linked_id, " +
            "user_def_type, cid_ani, cid_rdnis, cid_dnid, app_name, app_data, ama_flags, account_code, peer_account, user_field, peer, extra) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var r in rows)
            {
                await import.StartRowAsync();
                await import.WriteAsync(area, NpgsqlDbType.Uuid);
                await import.WriteAsync(r.Id, NpgsqlDbType.Bigint);
                await import.WriteAsync(r.EventType, NpgsqlDbType.Text);
                await import.WriteAsync(r.EventTime, NpgsqlDbType.TimestampTz);
                await import.WriteAsync(r.CidName, NpgsqlDbType.Text);
                await import.WriteAsync(r.CidNum, NpgsqlDbType.Text);
                await import.WriteAsync(r.Exten, NpgsqlDbType.Text);
                await import.WriteAsync(r.Context, NpgsqlDbType.Text);
                await import.WriteAsync(r.ChanName, NpgsqlDbType.Text);
                await import.WriteAsync(r.UniqueId, NpgsqlDbType.Text);
                await import.WriteAsync(r.LinkedId, NpgsqlDbType.Text);
                foreach (var empty in new[] { r.UserDefType, r.CidAni, r.CidRdnis, r.CidDnid, r.AppName, r.AppData })
                {
                    await import.WriteAsync(empty, NpgsqlDbType.Text);
                }
                await import.WriteAsync(r.AmaFlags, NpgsqlDbType.Integer);
                foreach (var empty in new[] { r.AccountCode, r.PeerAccount, r.UserField, r.Peer, r.Extra })
                {
                    await import.WriteAsync(empty, NpgsqlDbType.Text);
                }
            }
            await import.CompleteAsync();
        }
        return rows.Count / clock.Elapsed.TotalSeconds;
    }
}
