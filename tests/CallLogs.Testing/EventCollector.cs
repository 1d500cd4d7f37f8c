using System.Collections.Concurrent;
using CallLogs.Contracts;
using MassTransit;

namespace CallLogs.Testing;

/// <summary>
/// A bus of its own on a test's virtual host, with a temporary queue bound to every integration event, that keeps
/// what it receives (with its message id): tests see what services really published to RabbitMQ.
/// </summary>
public sealed class EventCollector : IAsyncDisposable
{
    private readonly IBusControl _bus;
    private readonly ConcurrentQueue<(Guid? MessageId, object Message)> _received = new();

    private EventCollector(IBusControl bus) => _bus = bus;

    public static async Task<EventCollector> StartAsync(string amqpUri)
    {
        EventCollector? collector = null;
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(new Uri(amqpUri));
            rabbit.ReceiveEndpoint(new TemporaryEndpointDefinition(), endpoint =>
                endpoint.Consumer(() => new Recorder(collector!._received)));
        });
        collector = new EventCollector(bus);
        await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        return collector;
    }

    /// <summary>Publishes an event on the collector's virtual host, as a service would.</summary>
    public Task Publish<T>(T message) where T : class => _bus.Publish(message);

    public IReadOnlyList<T> Received<T>() => _received.Select(r => r.Message).OfType<T>().ToList();

    public IReadOnlyList<(Guid? MessageId, T Message)> ReceivedWithIds<T>() =>
        _received.Where(r => r.Message is T).Select(r => (r.MessageId, (T)r.Message)).ToList();

    /// <summary>Waits for a message of type <typeparamref name="T"/> that matches, and returns it.</summary>
    public async Task<T> WaitFor<T>(Func<T, bool> match, TimeSpan? timeout = null)
    {
        T? found = default;
        await Eventually.Until(() =>
        {
            found = Received<T>().FirstOrDefault(match);
            return found is not null;
        }, timeout ?? TimeSpan.FromSeconds(30), $"a {typeof(T).Name} to arrive");
        return found!;
    }

    public async ValueTask DisposeAsync() => await _bus.StopAsync();

    private sealed class Recorder(ConcurrentQueue<(Guid?, object)> received) :
        IConsumer<AreaCreated>, IConsumer<AreaRenamed>,
        IConsumer<ExportProfileCreated>, IConsumer<ExportProfileUpdated>, IConsumer<ExportProfileEnabled>,
        IConsumer<ExportProfileDisabled>, IConsumer<ExportProfileDeleted>,
        IConsumer<CallRecordsIngested>, IConsumer<AuditEventRecorded>, IConsumer<CallLogsCreated>
    {
        public Task Consume(ConsumeContext<AreaCreated> context) => Keep(context);
        public Task Consume(ConsumeContext<AreaRenamed> context) => Keep(context);
        public Task Consume(ConsumeContext<ExportProfileCreated> context) => Keep(context);
        public Task Consume(ConsumeContext<ExportProfileUpdated> context) => Keep(context);
        public Task Consume(ConsumeContext<ExportProfileEnabled> context) => Keep(context);
        public Task Consume(ConsumeContext<ExportProfileDisabled> context) => Keep(context);
        public Task Consume(ConsumeContext<ExportProfileDeleted> context) => Keep(context);
        public Task Consume(ConsumeContext<CallRecordsIngested> context) => Keep(context);
        public Task Consume(ConsumeContext<AuditEventRecorded> context) => Keep(context);
        public Task Consume(ConsumeContext<CallLogsCreated> context) => Keep(context);

        private Task Keep<T>(ConsumeContext<T> context) where T : class
        {
            received.Enqueue((context.MessageId, context.Message));
            return Task.CompletedTask;
        }
    }
}
