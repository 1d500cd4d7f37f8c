using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Background;
using CallLogs.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace CallLogs.Ingest.Backpressure;

/// <summary>
/// How far the consumers of accepted records are behind: the depth of each watched queue, read from RabbitMQ every
/// poll interval. Once a queue reaches its limit, ingest defers batches (503 with Retry-After) until every queue is
/// back under the resume mark, so gateways slow down to what the slowest consumer takes long before RabbitMQ's memory
/// or disk alarm would block every publisher. A queue that does not exist yet (its consumer never started) or a
/// broker that cannot be asked defers nothing: publishing then fails on its own and says so.
/// </summary>
public sealed partial class DownstreamLag(IConfiguration configuration, IOptions<BackpressureOptions> options, TimeProvider clock, ILogger<DownstreamLag> logger)
    : PeriodicWorker(clock, logger)
{
    private static readonly ConcurrentDictionary<string, long> Depths = new();

    private static readonly ObservableGauge<long> Depth = Telemetry.Meter.CreateObservableGauge("calllogs.ingest.downstream_queue_depth",
        () => Depths.Select(d => new Measurement<long>(d.Value, new KeyValuePair<string, object?>("queue", d.Key))),
        unit: "{message}", description: "Messages of accepted records that a watched consumer queue has not taken yet");

    private readonly ConnectionFactory _factory = new()
    {
        Uri = new Uri(configuration.GetConnectionString(MessagingExtensions.ConnectionName)!),
        ClientProvidedName = "ingest-backpressure",
    };

    private IConnection? _connection;
    private volatile bool _behind;

    /// <summary>Whether batches are deferred now.</summary>
    public bool IsBehind => _behind;

    protected override TimeSpan NextWait(DateTimeOffset lastStarted) => options.Value.PollInterval;

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Queues.Length == 0)
        {
            return;
        }

        if (_connection is { IsOpen: false })
        {
            await _connection.DisposeAsync();
            _connection = null;
        }

        _connection ??= await _factory.CreateConnectionAsync(cancellationToken);
        var depths = new Dictionary<string, long>();
        foreach (var queue in settings.Queues)
        {
            await using var channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken);
            try
            {
                depths[queue] = (await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount;
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
            {
                // No such queue (a passive declare of it closes the channel): nothing waits in it.
            }
        }

        Update(depths, settings);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }
    }

    private void Update(Dictionary<string, long> depths, BackpressureOptions settings)
    {
        foreach (var gone in Depths.Keys.Except(depths.Keys))
        {
            Depths.TryRemove(gone, out _);
        }

        foreach (var (queue, depth) in depths)
        {
            Depths[queue] = depth;
        }

        // No watched queue exists yet (its consumer never ran): nothing is behind.
        var (deepest, messages) = depths.Count > 0 ? depths.MaxBy(d => d.Value) : new KeyValuePair<string, long>("", 0);
        if (!_behind && messages >= settings.MaxQueuedMessages)
        {
            _behind = true;
            LogBehind(Logger, deepest, messages, settings.MaxQueuedMessages);
        }
        else if (_behind && depths.Values.All(d => d <= settings.ResumeQueuedMessages))
        {
            _behind = false;
            LogCaughtUp(Logger, settings.ResumeQueuedMessages);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deferring call record batches (503): queue {Queue} holds {Depth} messages, the limit is {Limit}")]
    private static partial void LogBehind(ILogger logger, string queue, long depth, long limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Taking call record batches again: every watched queue holds {Resume} messages or fewer")]
    private static partial void LogCaughtUp(ILogger logger, long resume);
}
