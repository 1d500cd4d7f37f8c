using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace CallLogs.EndToEnd.Tests;

/// <summary>
/// Live WebSocket subscribers of one area's channel, kept connected through faults as a subscriber's client would:
/// more of them than the channel has places, each connecting again a second after a drop or a refusal, with the key
/// the channel has at that moment (an admin may rotate it). Counts how many sockets were open at once, checks that
/// every frame is well formed, and counts the records received.
/// </summary>
public sealed class LiveSubscribers : IAsyncDisposable
{
    private readonly Func<Uri> _address;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _slots;
    private int _open;
    private int _maxOpen;
    private int _connects;
    private int _refusals;
    private long _frames;
    private long _lastFrameTicks;

    public LiveSubscribers(Func<Uri> address, int slots)
    {
        _address = address;
        _slots = [.. Enumerable.Range(0, slots).Select(_ => Task.Run(() => RunAsync(_stop.Token)))];
    }

    public int Open => Volatile.Read(ref _open);

    /// <summary>The most sockets open at the same moment, as this client saw them.</summary>
    public int MaxOpen => Volatile.Read(ref _maxOpen);

    public int Connects => Volatile.Read(ref _connects);

    public int Refusals => Volatile.Read(ref _refusals);

    public long Frames => Interlocked.Read(ref _frames);

    public DateTimeOffset LastFrame => new(Interlocked.Read(ref _lastFrameTicks), TimeSpan.Zero);

    /// <summary>How often each request_uuid arrived over all sockets (a record reaches every open subscriber).</summary>
    public ConcurrentDictionary<string, int> Received { get; } = new();

    public ConcurrentQueue<string> Malformed { get; } = new();

    /// <summary>Why connections were refused, with how often.</summary>
    public ConcurrentDictionary<string, int> RefusalReasons { get; } = new();

    public string Summary => $"subscribers: {Open} open (at most {MaxOpen} at once), {Connects} connections, {Refusals} refused, {Frames} frames, " +
        $"{Received.Count} distinct records, {Malformed.Count} malformed frames";

    public string Refused => string.Join("; ", RefusalReasons.OrderByDescending(r => r.Value).Select(r => $"{r.Value} x {r.Key}"));

    private async Task RunAsync(CancellationToken stop)
    {
        var buffer = new byte[64 * 1024];
        while (!stop.IsCancellationRequested)
        {
            using var socket = new ClientWebSocket();
            var open = false;
            try
            {
                using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    connecting.CancelAfter(TimeSpan.FromSeconds(10));
                    await socket.ConnectAsync(_address(), connecting.Token);
                }

                open = true;
                var now = Interlocked.Increment(ref _open);
                Interlocked.Increment(ref _connects);
                for (var max = Volatile.Read(ref _maxOpen); now > max; max = Volatile.Read(ref _maxOpen))
                {
                    Interlocked.CompareExchange(ref _maxOpen, now, max);
                }

                using var message = new MemoryStream();
                while (true)
                {
                    var result = await socket.ReceiveAsync(buffer, stop);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    message.Write(buffer, 0, result.Count);
                    if (result.EndOfMessage)
                    {
                        Check(result.MessageType, message.ToArray());
                        message.SetLength(0);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Stopped by the test.
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or HttpRequestException or IOException)
            {
                if (!open)
                {
                    Interlocked.Increment(ref _refusals); // no place, an old key, or the instance down
                    RefusalReasons.AddOrUpdate(e.Message, 1, (_, n) => n + 1);
                }
            }
            finally
            {
                if (open)
                {
                    Interlocked.Decrement(ref _open);
                }
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop); // a client's pause before it connects again, not synchronisation
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>A frame is text and either <c>{"data":[{...}]}</c> with string values and a request_uuid, or <c>{"missed":N,"request_uuids":[...]}</c>.</summary>
    private void Check(WebSocketMessageType type, byte[] frame)
    {
        Interlocked.Increment(ref _frames);
        Interlocked.Exchange(ref _lastFrameTicks, DateTimeOffset.UtcNow.UtcTicks);
        var text = Encoding.UTF8.GetString(frame);
        try
        {
            if (type != WebSocketMessageType.Text)
            {
                throw new FormatException($"a {type} frame");
            }

            using var json = JsonDocument.Parse(frame);
            var root = json.RootElement;
            if (root.TryGetProperty("data", out var data))
            {
                foreach (var record in data.EnumerateArray())
                {
                    if (record.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String) || !record.TryGetProperty("request_uuid", out var uuid))
                    {
                        throw new FormatException("a record without request_uuid or with a value that is not a string");
                    }

                    Received.AddOrUpdate(uuid.GetString()!, 1, (_, n) => n + 1);
                }
            }
            else if (!root.TryGetProperty("missed", out var missed) || missed.ValueKind != JsonValueKind.Number
                || root.GetProperty("request_uuids").GetArrayLength() != missed.GetInt32())
            {
                throw new FormatException("neither data nor a missed notice");
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            Malformed.Enqueue($"{e.Message}: {text[..Math.Min(text.Length, 300)]}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_slots);
        _stop.Dispose();
    }
}
