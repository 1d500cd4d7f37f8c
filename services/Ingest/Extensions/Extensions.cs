using MassTransit;
using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;

namespace CallLogs.Ingest.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.AddServiceDatabase<IngestDbContext>("ingestdb");
        builder.AddOutbox<IngestDbContext>();
        builder.AddMessaging();
        builder.Services.AddSingleton<CallRecordStore>();
        builder.Services.AddScoped<BatchAcceptance>();
        builder.Services.AddSingleton<RetentionJob>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RetentionJob>());
        builder.AddTelephony();
        return builder;
    }
}
