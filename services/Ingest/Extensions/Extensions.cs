using MassTransit;
using CallLogs.Ingest.Backpressure;
using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.ServiceDefaults.Secrets;
using FluentValidation;

namespace CallLogs.Ingest.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // Batches of call records go out by COPY in large writes: fewer flushes, each with its own timeout timer.
        builder.AddServiceDatabase<IngestDbContext>("ingestdb", connection: c => c.WriteBufferSize = 64 * 1024);
        builder.AddOutbox<IngestDbContext>();
        builder.AddMessaging();
        builder.AddSecretSeal();
        builder.Services.AddValidatorsFromAssemblyContaining<IngestDbContext>(includeInternalTypes: true);
        builder.Services.AddSingleton<CallRecordStore>();
        builder.Services.AddSingleton<AreaRetentionCache>();
        builder.Services.AddScoped<BatchAcceptance>();
        builder.Services.AddOptions<BackpressureOptions>().BindConfiguration(BackpressureOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<DownstreamLag>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DownstreamLag>());
        builder.Services.AddSingleton<RetentionJob>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RetentionJob>());
        return builder;
    }
}
