using MassTransit;
using CallLogs.Stream.Consumers;
using CallLogs.Stream.Data;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;

namespace CallLogs.Stream.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<StreamDbContext>("streamdb");
        builder.AddOutbox<StreamDbContext>();
        builder.AddMessaging(bus => bus.AddConsumer<CallRecordsIngestedConsumer, CallRecordsIngestedConsumerDefinition>());
        return builder;
    }
}
