using System.Threading.Channels;
using CallLogs.Contracts;

namespace CallLogs.Stream.Subscriptions;

/// <summary>
/// One live subscription (WebSocket or SignalR). Frames wait in a buffer bounded both in records and in bytes: when a
/// slow subscriber's buffer is full, new records for it are dropped, and the subscriber is told exactly which, in
/// order: a <c>{"missed":N,"request_uuids":[...]}</c> frame (<see cref="Domain.Frames.Missed"/>) comes right where the
/// gap is, after the frames queued before the drop and before the next one. A subscriber that keeps missing more than
/// <see cref="MaxGapInBuffers"/> times what its buffer holds in a row is closed rather than told of an ever longer gap. So it never slows the others nor grows memory
/// without bound.
/// </summary>
public sealed class Subscriber(Guid leaseId, Guid areaId, Guid channelId, Guid tokenId, int? maskKeep, int maxBufferedRecords, long maxBufferedBytes,
    Func<string, CancellationToken, Task> send, Func<string, Task> close)
{
    private readonly Channel<(string Frame, int Records)> _frames = System.Threading.Channels.Channel.CreateUnbounded<(string, int)>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closed = new();
    private readonly Lock _gate = new();
    private long _bufferedRecords;
    private long _bufferedBytes;
    private int _queuedFrames;
    private List<string>? _dropped;
    private long _missedTotal;
    private int? _maskKeep = maskKeep;

    /// <summary>The longest gap a notice may name, in buffers' worth of records; a subscriber missing more is closed.</summary>
    public const int MaxGapInBuffers = 4;

    public Guid LeaseId { get; } = leaseId;
    public Guid AreaId { get; } = areaId;
    public Guid ChannelId { get; } = channelId;
    public Guid TokenId { get; } = tokenId;

    /// <summary>Characters kept at each end of masked secrets, or null when the channel does not mask; follows the channel's setting.</summary>
    public int? MaskKeep
    {
        get { lock (_gate) { return _maskKeep; } }
        set { lock (_gate) { _maskKeep = value; } }
    }

    public long MissedTotal => Interlocked.Read(ref _missedTotal);
    public CancellationToken Closed => _closed.Token;

    /// <summary>Queues a frame of these records, or drops them (remembering which) when the buffer would overflow.</summary>
    public bool Offer(string frame, IReadOnlyList<CallRecord> records)
    {
        var bytes = (long)frame.Length * sizeof(char);
        bool tooSlow;
        lock (_gate)
        {
            if (_bufferedRecords + records.Count <= maxBufferedRecords && _bufferedBytes + bytes <= maxBufferedBytes)
            {
                if (_dropped is { Count: > 0 })
                {
                    Enqueue(Domain.Frames.Missed(_dropped), 0);
                    _dropped = null;
                }

                Enqueue(frame, records.Count);
                return true;
            }

            _dropped ??= [];
            foreach (var record in records)
            {
                _dropped.Add(record.RequestUuid);
            }

            tooSlow = _dropped.Count > MaxGapInBuffers * maxBufferedRecords;
        }

        Interlocked.Add(ref _missedTotal, records.Count);
        StreamMetrics.Dropped.Add(records.Count);
        if (tooSlow)
        {
            _ = CloseAsync($"The subscriber reads too slowly: it missed more than {MaxGapInBuffers * maxBufferedRecords} records in a row. Reconnect and read faster.");
        }

        return false;
    }

    private void Enqueue(string frame, int records)
    {
        _bufferedRecords += records;
        _bufferedBytes += (long)frame.Length * sizeof(char);
        _queuedFrames++;
        _frames.Writer.TryWrite((frame, records));
    }

    /// <summary>Sends queued frames in order until the subscription ends; a notice of missed records waiting when the buffer empties goes out then.</summary>
    public async Task RunSenderAsync()
    {
        try
        {
            await foreach (var (frame, records) in _frames.Reader.ReadAllAsync(_closed.Token))
            {
                await send(frame, _closed.Token);
                lock (_gate)
                {
                    _bufferedRecords -= records;
                    _bufferedBytes -= (long)frame.Length * sizeof(char);
                    if (--_queuedFrames == 0 && _dropped is { Count: > 0 })
                    {
                        Enqueue(Domain.Frames.Missed(_dropped), 0);
                        _dropped = null;
                    }
                }

                StreamMetrics.Delivered.Add(records);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException or ObjectDisposedException or IOException)
        {
            // The subscription ended.
        }
    }

    public async Task CloseAsync(string reason)
    {
        if (_closed.IsCancellationRequested)
        {
            return;
        }

        try
        {
            await _closed.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        _frames.Writer.TryComplete();
        try
        {
            await close(reason);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or IOException)
        {
            // Already gone.
        }
    }
}
