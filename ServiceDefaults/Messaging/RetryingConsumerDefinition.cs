using MassTransit;

namespace CallLogs.ServiceDefaults.Messaging;

/// <summary>
/// Retry policy every consumer shares: a few quick retries, then a few slower ones; after them the
/// message goes to the consumer's <c>_error</c> queue. Nothing is acked and dropped.
/// </summary>
public abstract class RetryingConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer> where TConsumer : class, IConsumer
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r => r.Intervals(
            TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2),
            TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15)));
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
