using CallLogs.Audit.Data;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.ServiceDefaults.Storage;

namespace CallLogs.Audit.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<AuditDbContext>("auditdb");
        builder.AddOutbox<AuditDbContext>();
        builder.AddMessaging();
        builder.AddS3Storage();
        return builder;
    }
}
