using System.Threading.Channels;

namespace CallLogs.Stream.Subscriptions;

/// <summary>
/// One live subscription (WebSocket or SignalR). Records wait in a buffer bounded by a number of records: when a
/// slow subscriber's buffer is full, new records for it are dropped and counted, and it is told how many it missed,
/// so it never slows the others nor grows memory without bound.
/// </summary>
public sealed class Subscriber(Guid leaseId, Guid areaId, Guid channelId, Guid tokenId, int? maskKeep, int maxBufferedRecords,
    Func<string, CancellationToken, Task> send, Func<string, Task> close)
{
    private readonly Channel<(string Frame, int Records)> _frames = System.Threading.Channels.Channel.CreateUnbounded<(string, int)>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closed = new();
    private long _buffered;
    private long _missed;
    private long _missedTotal;

    public Guid LeaseId { get; } = leaseId;
    public Guid AreaId { get; } = areaId;
    public Guid ChannelId { get; } = channelId;
    public Guid TokenId { get; } = tokenId;
    public int? MaskKeep { get; } = maskKeep;
    public long MissedTotal => Interlocked.Read(ref _missedTotal);
    public CancellationToken Closed => _closed.Token;

    /// <summary>Queues a frame of <paramref name="records"/> records, or drops it when the buffer would overflow.</summary>
    public bool Offer(string frame, int records)
    {
        if (Interlocked.Add(ref _buffered, records) > maxBufferedRecords)
        {
            Interlocked.Add(ref _buffered, -records);
            Interlocked.Add(ref _missed, records);
            Interlocked.Add(ref _missedTotal, records);
            StreamMetrics.Dropped.Add(records);
            return false;
        }

        return _frames.Writer.TryWrite((frame, records));
    }

    /// <summary>Sends queued frames until the subscription ends; a count of missed records goes first when there is one.</summary>
    public async Task RunSenderAsync()
    {
        try
        {
            await foreach (var (frame, records) in _frames.Reader.ReadAllAsync(_closed.Token))
            {
                var missed = Interlocked.Exchange(ref _missed, 0);
                if (missed > 0)
                {
                    await send(Domain.Frames.Missed(missed), _closed.Token);
                }

                await send(frame, _closed.Token);
                Interlocked.Add(ref _buffered, -records);
                StreamMetrics.Delivered.Add(records);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException or ObjectDisposedException)
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

        await _closed.CancelAsync();
        _frames.Writer.TryComplete();
        try
        {
            await close(reason);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // Already gone.
        }
    }
}
