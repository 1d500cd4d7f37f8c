using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text.Json;
using CallLogs.Contracts;

namespace CallLogs.Bench.SystemBench;

/// <summary>Progress lines on the console, each with the time (UTC); repeated problems are told a few times only.</summary>
internal static class Progress
{
    private static readonly ConcurrentDictionary<string, int> Told = new();

    public static void Log(string message) => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {message}");

    /// <summary>Logs the first five messages of a kind, then one in a hundred, with how many there were.</summary>
    public static void LogLimited(string kind, string message)
    {
        var count = Told.AddOrUpdate(kind, 1, (_, n) => n + 1);
        if (count <= 5 || count % 100 == 0)
        {
            Log($"  [{kind} #{count}] {message}");
        }
    }

    public static string Num(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>Call records as a gateway sends them, most fields filled; request_time somewhere in the given hour.</summary>
internal static class Records
{
    private static readonly string[] Services = ["Weather API", "Maps API", "Payments API", "Search API"];
    private static readonly string[] Methods = ["getForecast", "getRoute", "charge", "search"];

    /// <summary>
    /// The hour under test at <paramref name="now"/>: the next hour. The export service of the run is two hours ahead
    /// with no grace period, so it writes a record of the next hour as soon as it is staged.
    /// </summary>
    public static DateTimeOffset HourUnderTest(DateTimeOffset now) =>
        new(now.UtcDateTime.Date.AddHours(now.UtcDateTime.Hour + 1), TimeSpan.Zero);

    public static CallRecord Make(DateTimeOffset hour, int index)
    {
        var service = Random.Shared.Next(Services.Length);
        var failed = Random.Shared.Next(20) == 0;
        return new CallRecord
        {
            RequestUuid = Guid.NewGuid().ToString(),
            RequestId = $"{hour.ToUnixTimeSeconds()}.{index:000}__key{index % 50}",
            RequestTime = hour.AddMilliseconds(Random.Shared.Next(3_600_000)),
            ApiKey = $"key-{index % 50:000}-abcdefghijklmnop",
            OauthAccessToken = "-",
            ApiMethodName = Methods[service],
            ServiceId = $"svc-{service}",
            ServiceName = Services[service],
            EndpointName = "v1",
            HttpMethod = "GET",
            HttpVersion = "HTTP/1.1",
            HttpStatusCode = failed ? 500 : 200,
            ResponseString = failed ? "500_Internal_Server_Error" : "200_OK_API",
            TrafficManager = "tm-1.example.net",
            TrafficManagerErrorCode = "-",
            SrcIp = $"10.0.{index % 256}.{Random.Shared.Next(256)}",
            UserAgent = "bench/1.0",
            Referrer = "-",
            RequestHostName = "api.example.net",
            Uri = $"/v1/{Methods[service]}?city=Lyon",
            Bytes = 512 + Random.Shared.Next(4096),
            CacheHit = false,
            SslEnabled = true,
            ConnectTime = 0.001,
            PreTransferTime = 0.002,
            RemoteTotalTime = 0.05,
            ClientTransferTime = 0.001,
            TotalRequestExecTime = 0.055,
            QpsThrottleValue = 10,
            QuotaValue = 1000,
        };
    }

    /// <summary>A JSON array of <paramref name="size"/> new records (fresh request_uuid each), as the body of one POST.</summary>
    public static byte[] Batch(DateTimeOffset hour, int size)
    {
        var buffer = new ArrayBufferWriter<byte>(size * 800);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < size; i++)
            {
                CallRecordFields.WriteFlatJson(writer, Make(hour, i));
            }

            writer.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>A token bucket of records: at most <c>rate</c> records a second, bursts of at most one second's worth.</summary>
internal sealed class TokenBucket
{
    private readonly Lock _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _rate;
    private double _tokens;
    private double _capacity;
    private TimeSpan _last;

    /// <summary>A new rate, starting from an empty bucket (no burst carried over from the previous step); 0 pauses.</summary>
    public void SetRate(int recordsPerSecond, int batchSize)
    {
        lock (_gate)
        {
            _rate = recordsPerSecond;
            _capacity = Math.Max(batchSize, recordsPerSecond);
            _tokens = 0;
            _last = _clock.Elapsed;
        }
    }

    public async Task TakeAsync(int count, CancellationToken stop)
    {
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
            {
                var now = _clock.Elapsed;
                _tokens = Math.Min(_capacity, _tokens + (now - _last).TotalSeconds * _rate);
                _last = now;
                if (_rate > 0 && _tokens >= count)
                {
                    _tokens -= count;
                    return;
                }

                wait = _rate > 0 ? TimeSpan.FromSeconds((count - _tokens) / _rate) : TimeSpan.FromMilliseconds(100);
            }

            await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, stop);
        }
    }
}

/// <summary>The phase (ramp step, sustained, drain, ...) that counts what happens now.</summary>
internal sealed class CurrentPhase(Phase initial)
{
    private Phase _phase = initial;

    public Phase Value
    {
        get => Volatile.Read(ref _phase);
        set => Volatile.Write(ref _phase, value);
    }
}

/// <summary>
/// Gateways: <c>concurrency</c> senders posting JSON batches round-robin over the areas, paced together by one token
/// bucket. Each batch is sent until it is answered 200: a 503 or 429 after its Retry-After ("deferred"), a timeout or
/// broken connection after a second, always the same batch (ingest is idempotent by request_uuid); given up after 3
/// minutes. Records are counted when their batch is answered 200, into the phase current at that moment.
/// </summary>
internal sealed class Gateways : IAsyncDisposable
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(3);

    private readonly HttpClient _http;
    private readonly IReadOnlyList<(Guid Area, string Token)> _areas;
    private readonly CurrentPhase _phase;
    private readonly int _batchSize;
    private readonly TokenBucket _bucket = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abandon = new();
    private readonly Task[] _senders;
    private long _sequence;

    public Gateways(Uri ingest, IReadOnlyList<(Guid Area, string Token)> areas, CurrentPhase phase, int concurrency, int batchSize)
    {
        // Connections renewed every 30 s, so that they spread over the ingest instances behind DCP's proxy.
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = ingest,
            Timeout = TimeSpan.FromSeconds(30),
        };
        _areas = areas;
        _phase = phase;
        _batchSize = batchSize;
        _bucket.SetRate(0, batchSize);
        _senders = [.. Enumerable.Range(0, concurrency).Select(_ => Task.Run(SendLoopAsync))];
    }

    /// <summary>Records answered 200 per area over the whole run (accepted now, or duplicates of an earlier try of the same batch).</summary>
    public ConcurrentDictionary<Guid, long> AcceptedByArea { get; } = new();

    /// <summary>The hours records were posted for (the hour under test moves on when the run crosses an hour).</summary>
    public ConcurrentDictionary<DateTimeOffset, long> AcceptedByHour { get; } = new();

    public void SetRate(int recordsPerSecond) => _bucket.SetRate(recordsPerSecond, _batchSize);

    /// <summary>Stops taking new batches; the batches in flight are sent to their end (answered 200 or given up).</summary>
    public async Task StopAsync()
    {
        SetRate(0);
        await _stop.CancelAsync();
        await Task.WhenAll(_senders);
    }

    private async Task SendLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _bucket.TakeAsync(_batchSize, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                var (area, token) = _areas[(int)(Interlocked.Increment(ref _sequence) % _areas.Count)];
                var hour = Records.HourUnderTest(DateTimeOffset.UtcNow);
                await SendUntilAcceptedAsync(area, token, hour, Records.Batch(hour, _batchSize));
            }
            catch (Exception e)
            {
                // A bug here must not silently stop a sender: counted, told, and the sender goes on.
                _phase.Value.AddError();
                Progress.LogLimited("sender failure", e.ToString());
            }
        }
    }

    private async Task SendUntilAcceptedAsync(Guid area, string token, DateTimeOffset hour, byte[] body)
    {
        var giveUp = DateTime.UtcNow + GiveUpAfter;
        while (DateTime.UtcNow < giveUp && !_abandon.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/areas/{area}/call-records") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                var sentAt = Stopwatch.GetTimestamp();
                using var response = await _http.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    _phase.Value.AddAnswer(Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds);
                    using var answer = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
                    var root = answer.RootElement;
                    var accepted = Count(root, "accepted") + Count(root, "duplicates");
                    var refused = Count(root, "refused");
                    _phase.Value.AddAccepted(accepted, refused);
                    AcceptedByArea.AddOrUpdate(area, accepted, (_, n) => n + accepted);
                    AcceptedByHour.AddOrUpdate(hour, accepted, (_, n) => n + accepted);
                    if (refused > 0)
                    {
                        Progress.LogLimited("records refused", $"{refused} records of a batch refused: {(root.TryGetProperty("errors", out var errors) ? errors.GetRawText() : "")}");
                    }

                    return;
                }

                if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests)
                {
                    _phase.Value.AddDeferred();
                    wait = RetryAfter(response);
                    Progress.LogLimited("deferred", $"ingest answered {(int)response.StatusCode}, retrying the same batch after {wait.TotalSeconds:N1} s");
                }
                else
                {
                    var text = await response.Content.ReadAsStringAsync();
                    _phase.Value.AddError();
                    Progress.LogLimited("batch failed", $"ingest answered {(int)response.StatusCode} (batch dropped): {text[..Math.Min(text.Length, 400)]}");
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                _phase.Value.AddError();
                Progress.LogLimited("no answer", $"POST to ingest failed ({e.GetType().Name}: {e.Message}); retrying the same batch in 1 s");
                wait = TimeSpan.FromSeconds(1);
            }

            try
            {
                await Task.Delay(wait, _abandon.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        if (_abandon.IsCancellationRequested)
        {
            return;
        }

        _phase.Value.AddError();
        Progress.LogLimited("batch given up", $"a batch of {_batchSize} records not accepted within {GiveUpAfter.TotalMinutes} minutes of retries");
    }

    private static int Count(JsonElement answer, string name) =>
        answer.TryGetProperty(name, out var value) && value.TryGetInt32(out var count) ? count : 0;

    private static TimeSpan RetryAfter(HttpResponseMessage response)
    {
        var retryAfter = response.Headers.RetryAfter;
        var wait = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : TimeSpan.FromSeconds(1));
        return wait < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : wait;
    }

    /// <summary>After <see cref="StopAsync"/>, nothing left to wait for; otherwise (the run failed) batches still retried are abandoned.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _abandon.CancelAsync();
            await StopAsync();
        }

        _http.Dispose();
        _stop.Dispose();
        _abandon.Dispose();
    }
}

/// <summary>
/// Live WebSocket subscribers, one per address (an address given five times is five subscribers of one channel),
/// each connecting again a second after a drop. Latency of every record received = receive time − its ingestion_time
/// (epoch milliseconds, set by ingest when it accepted the record), added to the current phase.
/// </summary>
internal sealed class Subscribers : IAsyncDisposable
{
    private readonly CurrentPhase _phase;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _sockets;
    private int _open;
    private int _connects;
    private long _records;

    public Subscribers(IReadOnlyList<Uri> addresses, CurrentPhase phase)
    {
        _phase = phase;
        _sockets = [.. addresses.Select(address => Task.Run(() => RunAsync(address)))];
    }

    public int Count => _sockets.Length;

    public int Open => Volatile.Read(ref _open);

    public string Summary => $"{Open} of {Count} subscribers open, {Volatile.Read(ref _connects)} connections made, {Progress.Num(Interlocked.Read(ref _records))} records received";

    private async Task RunAsync(Uri address)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (!_stop.IsCancellationRequested)
        {
            var open = false;
            using var socket = new ClientWebSocket();
            try
            {
                using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
                {
                    connecting.CancelAfter(TimeSpan.FromSeconds(10));
                    await socket.ConnectAsync(address, connecting.Token);
                }

                open = true;
                Interlocked.Increment(ref _open);
                Interlocked.Increment(ref _connects);
                while (true)
                {
                    var result = await socket.ReceiveAsync(buffer, _stop.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        Progress.LogLimited("subscriber closed", $"the stream service closed a subscriber ({socket.CloseStatus} {socket.CloseStatusDescription}); connecting again");
                        break;
                    }

                    message.Write(buffer, 0, result.Count);
                    if (result.EndOfMessage)
                    {
                        Read(message.GetBuffer().AsMemory(0, (int)message.Length), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                        message.SetLength(0);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A drop, a refusal (no place left, the instance down) or a frame that could not be read: connect again.
                Progress.LogLimited(open ? "subscriber dropped" : "subscriber refused", $"{e.GetType().Name}: {e.Message}; connecting again in 1 s");
            }
            finally
            {
                if (open)
                {
                    Interlocked.Decrement(ref _open);
                }

                message.SetLength(0);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>A frame: <c>{"data":[{..., "ingestion_time":"1764...", ...}]}</c>, or <c>{"missed":N,"request_uuids":[...]}</c>.</summary>
    private void Read(ReadOnlyMemory<byte> frame, long receivedAt)
    {
        using var json = JsonDocument.Parse(frame);
        var root = json.RootElement;
        if (root.TryGetProperty("data", out var data))
        {
            var latencies = new List<double>(data.GetArrayLength());
            foreach (var record in data.EnumerateArray())
            {
                if (record.TryGetProperty("ingestion_time", out var time) && long.TryParse(time.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var accepted))
                {
                    latencies.Add(receivedAt - accepted);
                }
            }

            Interlocked.Add(ref _records, latencies.Count);
            _phase.Value.AddLatencies(latencies);
        }
        else if (root.TryGetProperty("missed", out var missed) && missed.ValueKind == JsonValueKind.Number)
        {
            _phase.Value.AddMissed(missed.GetInt64());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_sockets);
        _stop.Dispose();
    }
}
