using CallLogs.Audit.Consumers;
using CallLogs.Audit.Data;
using CallLogs.Audit.Delivery;
using CallLogs.Audit.Domain;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.ServiceDefaults.Storage;
using FluentValidation;
using MassTransit;
using Microsoft.Extensions.Options;

namespace CallLogs.Audit.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<AuditDbContext>("auditdb");
        builder.AddOutbox<AuditDbContext>();
        builder.AddMessaging(bus =>
        {
            bus.AddConsumer<AuditEventRecordedConsumer, AuditEventRecordedConsumerDefinition>();
            bus.AddConsumer<AreaCreatedConsumer, AreaCreatedConsumerDefinition>();
        });
        builder.AddS3Storage();

        builder.Services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => new DigestSigner(sp.GetRequiredService<IOptions<AuditOptions>>().Value.SigningKeyPem));
        builder.Services.AddSingleton<TrailClients>();
        builder.Services.AddSingleton<TrailWriter>();
        builder.Services.AddValidatorsFromAssemblyContaining<AuditDbContext>(includeInternalTypes: true);
        builder.Services.AddScoped<TrailValidator>();
        builder.Services.AddHostedService<TrailDeliveryService>();
        builder.Services.AddHostedService<AuditFigures>();
        return builder;
    }
}
