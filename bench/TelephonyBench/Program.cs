// Telephony benchmark: CEL rows per second turned into call logs, beside the raw PostgreSQL binary COPY of the same
// rows into the same table, measured in the same run on the same server (ratios count: the machine is shared).
//   whole pipeline: the rows POSTed to the telephony API in batches, each batch's ended calls generated in real time,
//                   timed until every call log is committed and its CallLogsCreated received from RabbitMQ;
//   batch generation: the same rows already stored, one run of all of them (the command line's / nightly path);
//   pure generator: interpretation alone, no I/O.
// The telephony service runs in this process (WebApplicationFactory): intake goes through the whole ASP.NET Core
// pipeline (authentication, JSON, validation) but not through a socket. The benchmark's own subscriber to
// CallLogsCreated counts each event's call logs from its bytes: it shares the two cores with what it measures.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Telephony.Data;
using CallLogs.Telephony.Domain;
using CallLogs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

const int Calls = 10_000;
const int RowsPerRequest = 5_000;
const int WarmUpRequests = 60;
const int Rounds = 15;

// WebApplicationFactory outside a test project: tell it where the service's content root is
Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_CALLLOGS_TELEPHONY",
    Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../services/Telephony")));
var infra = new Infrastructure();
await infra.InitializeAsync();
try
{
    await using var service = await ServiceFactory<TelephonyDbContext>.StartAsync(infra, "telephony",
        new Dictionary<string, string?> { ["Telephony:RunScheduledJobs"] = "false", ["Logging:LogLevel:Default"] = "Warning" });
    var connectionString = service.Configuration["ConnectionStrings:telephonydb"]!;
    await using var events = await CallLogsCreatedCounter.StartAsync(service.Configuration["ConnectionStrings:messaging"]!);
    var start = DateTimeOffset.UtcNow.AddDays(-3);
    var rows = Enumerable.Range(0, Calls).SelectMany(i => Cels.Call(i, start.AddSeconds(i * 20))).ToList();
    Console.WriteLine($"servers: {infra.Source}; {rows.Count:N0} CEL rows, {Calls:N0} calls");

    // pure generator, no I/O (a first pass warms it up)
    CallLogGenerator.Generate(rows.Take(10_000), TelephonyDirectory.Empty);
    var clock = Stopwatch.StartNew();
    var logs = CallLogGenerator.Generate(rows, TelephonyDirectory.Empty);
    var pure = rows.Count / clock.Elapsed.TotalSeconds;
    Console.WriteLine($"pure generator: {logs.Count:N0} call logs, {pure:N0} rows/s");

    // baseline: raw binary COPY of the rows (area A), which also stores them for the batch generation
    var areaA = Guid.NewGuid();
    await Cels.CopyAsync(connectionString, Guid.NewGuid(), rows.Take(10_000).ToList()); // warm-up
    var storedCopy = await Cels.CopyAsync(connectionString, areaA, rows);
    Console.WriteLine($"raw binary COPY: {storedCopy:N0} rows/s");

    // batch generation of all the stored rows in one run
    double batch;
    await using (var scope = service.Services.CreateAsyncScope())
    {
        var generation = scope.ServiceProvider.GetRequiredService<TelephonyGeneration>();
        clock.Restart();
        var result = await generation.FromCountAsync(areaA, rows.Count, CancellationToken.None);
        batch = result.CelRows / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"batch generation, one run: {result.Created:N0} call logs from {result.CelRows:N0} rows, {batch:N0} rows/s");
    }

    // Whole pipeline: POST, real-time generation, commit, CallLogsCreated received. Measured in rounds, each right
    // after a raw COPY of the same rows into a fresh area: this machine's pace changes from one minute to the next,
    // so a round's ratio compares two figures measured together, and the median of the rounds is reported.
    var bodies = rows.Chunk(RowsPerRequest).Select(Cels.Json).ToList();
    var warmUp = Guid.NewGuid();
    using (var warmUpPbx = service.CreateClient(infra.Tokens.Issue(Roles.Ingest, warmUp, "bench-pbx")))
    {
        // Requests of the measured size into another area, not counted, until the JIT has optimised the hot paths.
        var callsPerRequest = RowsPerRequest / Cels.Call(0, start).Count();
        for (var w = 0; w < WarmUpRequests; w++)
        {
            await Cels.PostAsync(warmUpPbx, warmUp, Cels.Json(Enumerable.Range(Calls + w * callsPerRequest, callsPerRequest).SelectMany(i => Cels.Call(i, start)).ToArray()));
        }
    }

    await Eventually.Until(() => events.Of(warmUp) > 0, TimeSpan.FromSeconds(30), "the warm-up's call logs");
    var rounds = new List<(double Copy, double Pipeline)>();
    for (var round = 1; round <= Rounds; round++)
    {
        var roundCopy = await Cels.CopyAsync(connectionString, Guid.NewGuid(), rows);
        var area = Guid.NewGuid();
        using var pbx = service.CreateClient(infra.Tokens.Issue(Roles.Ingest, area, "bench-pbx"));
        clock.Restart();
        foreach (var body in bodies)
        {
            await Cels.PostAsync(pbx, area, body);
        }

        var committed = clock.Elapsed;
        await Eventually.Until(() => events.Of(area) >= Calls,
            TimeSpan.FromMinutes(5), "every call log's CallLogsCreated");
        rounds.Add((roundCopy, rows.Count / clock.Elapsed.TotalSeconds));
        Console.WriteLine($"round {round}: raw COPY {roundCopy:N0} rows/s; whole pipeline {rows.Count:N0} rows in {bodies.Count} requests, committed after " +
            $"{committed.TotalSeconds:0.00} s, every CallLogsCreated received after {clock.Elapsed.TotalSeconds:0.00} s: {rounds[^1].Pipeline:N0} rows/s, ratio {rounds[^1].Pipeline / roundCopy:0.00}");
    }

    static double Median(IEnumerable<double> values) => values.Order().ElementAt(Rounds / 2);
    var copy = Median(rounds.Select(r => r.Copy));
    var pipeline = Median(rounds.Select(r => r.Pipeline));
    var ratio = Median(rounds.Select(r => r.Pipeline / r.Copy));
    Console.WriteLine($"median ratio to COPY: whole pipeline {ratio:P1}; batch generation {batch / storedCopy:P1}");

    var measured = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
    await BenchmarkReport.WriteSectionAsync("telephony-bench", $"""
        ## Telephony: call logs from CEL rows (issue 17)

        `dotnet run -c Release --project bench/TelephonyBench` — {rows.Count:N0} CEL rows ({Calls:N0} answered internal calls of 10 rows),
        the telephony service in process (WebApplicationFactory: the whole ASP.NET Core pipeline without a socket), servers: {infra.Source}.
        Whole pipeline: the rows POSTed in {bodies.Count} requests of {RowsPerRequest:N0} (after {WarmUpRequests} requests of that size into another area, not counted),
        each request's ended calls generated in real time, timed until the last `CallLogsCreated` is received from RabbitMQ (by a subscriber that counts
        each event's call logs in its bytes); {Rounds} rounds, each right
        after a raw COPY of the same rows into a fresh area, the medians reported. Batch generation: the rows of one COPY already stored, one run, against that COPY.

        | measured {measured} UTC | CEL rows/s | ratio to raw COPY |
        |---|---:|---:|
        | raw binary COPY of the same rows into `cel` (its 5 indexes: rows not linked to a call log enter all five), median of {Rounds} | {copy:N0} | 1.00 |
        | **whole pipeline: intake → call logs committed → CallLogsCreated received**, median of {Rounds} (ratio: median of the rounds' ratios) | **{pipeline:N0}** | **{ratio:0.00}** |
        | batch generation, one run of all rows (read, interpret, write call logs and events, link the rows) | {batch:N0} | {batch / storedCopy:0.00} |
        | pure generator alone (no I/O) | {pure:N0} | — |

        Rounds (raw COPY → whole pipeline, ratio): {string.Join("; ", rounds.Select(r => $"{r.Copy:N0} → {r.Pipeline:N0} ({r.Pipeline / r.Copy:0.00})"))}.

        Target: the whole pipeline at 0.50 of raw COPY or more.
        """);
}
finally
{
    await infra.DisposeAsync();
}

/// <summary>
/// A subscriber to <see cref="CallLogsCreated"/> as RabbitMQ delivers it (a queue of its own bound to the event's
/// exchange): it reads each event's area and counts its call logs in one pass over the bytes, where a MassTransit
/// consumer would parse the whole envelope into a document and then into objects (about 600 KB per event here).
/// </summary>
internal sealed class CallLogsCreatedCounter : IAsyncDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, int> _callLogs = new();
    private readonly IConnection _connection;

    private CallLogsCreatedCounter(IConnection connection) => _connection = connection;

    public int Of(Guid area) => _callLogs.GetValueOrDefault(area);

    public static async Task<CallLogsCreatedCounter> StartAsync(string amqpUri)
    {
        var connection = await new ConnectionFactory { Uri = new Uri(amqpUri) }.CreateConnectionAsync();
        var counter = new CallLogsCreatedCounter(connection);
        var channel = await connection.CreateChannelAsync();
        const string exchange = "CallLogs.Contracts:CallLogsCreated"; // MassTransit's exchange of the message type
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
        var queue = (await channel.QueueDeclareAsync()).QueueName; // exclusive, deleted with the connection
        await channel.QueueBindAsync(queue, exchange, "");
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            var (area, count) = Read(delivery.Body.Span);
            counter._callLogs.AddOrUpdate(area, count, (_, before) => before + count);
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
        return counter;
    }

    /// <summary>The envelope's <c>message.areaId</c> and the number of objects in <c>message.callLogs</c>.</summary>
    private static (Guid Area, int CallLogs) Read(ReadOnlySpan<byte> envelope)
    {
        var reader = new Utf8JsonReader(envelope);
        var (area, count, inMessage) = (Guid.Empty, 0, false);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                inMessage = reader.ValueTextEquals("message");
            }
            else if (inMessage && reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 2)
            {
                if (reader.ValueTextEquals("areaId"))
                {
                    reader.Read();
                    area = reader.GetGuid();
                }
                else if (reader.ValueTextEquals("callLogs"))
                {
                    reader.Read();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        count++;
                        reader.Skip();
                    }
                }
            }
        }

        return (area, count);
    }

    public async ValueTask DisposeAsync() => await _connection.DisposeAsync();
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
            Id = Interlocked.Increment(ref _id), EventType = type, EventTime = at.AddSeconds(s), ChanName = chan, UniqueId = uid, LinkedId = linked,
            CidName = name, CidNum = num, Exten = type == "CHAN_START" && uid == linked ? "1002" : "s", Context = "default",
            Extra = type == "BRIDGE_ENTER" ? "{\"bridge_id\":\"b" + n + "\",\"bridge_technology\":\"simple_bridge\"}" : "",
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

    /// <summary>Rows as the PBX posts them: Asterisk CEL column names.</summary>
    public static byte[] Json(CelRow[] rows) => Encoding.UTF8.GetBytes(new JsonArray(rows.Select(r => (JsonNode)new JsonObject
    {
        ["id"] = r.Id, ["eventtype"] = r.EventType, ["eventtime"] = r.EventTime.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        ["cid_name"] = r.CidName, ["cid_num"] = r.CidNum, ["exten"] = r.Exten, ["context"] = r.Context, ["channame"] = r.ChanName,
        ["uniqueid"] = r.UniqueId, ["linkedid"] = r.LinkedId, ["extra"] = r.Extra, ["appname"] = "", ["appdata"] = "", ["peer"] = "",
    }).ToArray()).ToJsonString());

    public static async Task PostAsync(HttpClient client, Guid area, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync($"/api/areas/{area}/telephony/cel", content);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"intake answered {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    public static async Task<double> CopyAsync(string connectionString, Guid area, IReadOnlyList<CelRow> rows)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var clock = Stopwatch.StartNew();
        await using (var import = await connection.BeginBinaryImportAsync(
            "COPY cel (area_id, id, event_type, event_time, cid_name, cid_num, exten, context, chan_name, unique_id, linked_id, " +
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
                foreach (var text in new[] { r.UserDefType, r.CidAni, r.CidRdnis, r.CidDnid, r.AppName, r.AppData })
                {
                    await import.WriteAsync(text, NpgsqlDbType.Text);
                }

                await import.WriteAsync(r.AmaFlags, NpgsqlDbType.Integer);
                foreach (var text in new[] { r.AccountCode, r.PeerAccount, r.UserField, r.Peer, r.Extra })
                {
                    await import.WriteAsync(text, NpgsqlDbType.Text);
                }
            }

            await import.CompleteAsync();
        }

        return rows.Count / clock.Elapsed.TotalSeconds;
    }
}
