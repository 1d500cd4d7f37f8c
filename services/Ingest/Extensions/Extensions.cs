using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;

namespace CallLogs.Ingest.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<IngestDbContext>("ingestdb");
        builder.AddOutbox<IngestDbContext>();
        builder.AddMessaging();
        return builder;
    }
}
