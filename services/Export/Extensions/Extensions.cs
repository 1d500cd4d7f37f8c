using CallLogs.Export.Consumers;
using CallLogs.Export.Data;
using CallLogs.Export.Exporting;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.ServiceDefaults.Secrets;
using CallLogs.ServiceDefaults.Storage;
using FluentValidation;
using MassTransit;

namespace CallLogs.Export.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ExportOptions>().BindConfiguration(ExportOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.AddServiceDatabase<ExportDbContext>("exportdb", connection: c => c.WriteBufferSize = 64 * 1024);
        builder.AddOutbox<ExportDbContext>();
        builder.AddMessaging(bus =>
        {
            bus.AddConsumer<StageCallRecordsConsumer, StageCallRecordsConsumerDefinition>();
            bus.AddConsumer<ExportProfileCreatedConsumer, ExportProfileCreatedConsumerDefinition>();
            bus.AddConsumer<ExportProfileUpdatedConsumer, ExportProfileUpdatedConsumerDefinition>();
            bus.AddConsumer<ExportProfileEnabledConsumer, ExportProfileEnabledConsumerDefinition>();
            bus.AddConsumer<ExportProfileDisabledConsumer, ExportProfileDisabledConsumerDefinition>();
            bus.AddConsumer<ExportProfileDeletedConsumer, ExportProfileDeletedConsumerDefinition>();
            bus.AddConsumer<AreaCreatedConsumer, AreaCreatedConsumerDefinition>();
            bus.AddConsumer<AreaRenamedConsumer, AreaRenamedConsumerDefinition>();
        });
        builder.AddS3Storage();
        builder.AddSecretSeal();
        builder.Services.AddValidatorsFromAssemblyContaining<ExportDbContext>(includeInternalTypes: true);
        builder.Services.AddSingleton<ObjectFiles>();
        builder.Services.AddScoped<HourPlanner>();
        builder.Services.AddScoped<ObjectUploader>();
        builder.Services.AddScoped<StagingCleanup>();
        builder.Services.AddSingleton<HourlyExporter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HourlyExporter>());
        builder.Services.AddSingleton<StagingCleanupJob>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StagingCleanupJob>());
        builder.Services.AddHostedService<ExportFigures>();
        return builder;
    }
}
