using MassTransit;
using CallLogs.Export.Consumers;
using CallLogs.Export.Data;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.ServiceDefaults.Storage;

namespace CallLogs.Export.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<ExportDbContext>("exportdb");
        builder.AddOutbox<ExportDbContext>();
        builder.AddMessaging(bus => bus.AddConsumer<CallRecordsIngestedConsumer, CallRecordsIngestedConsumerDefinition>());
        builder.AddS3Storage();
        return builder;
    }
}
