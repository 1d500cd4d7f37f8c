using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.Telephony.Data;
using FluentValidation;

namespace CallLogs.Telephony.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelephonyOptions>().BindConfiguration(TelephonyOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // CEL rows and call logs go in by COPY: large writes, fewer flushes.
        builder.AddServiceDatabase<TelephonyDbContext>("telephonydb", connection: c => c.WriteBufferSize = 64 * 1024);
        builder.AddOutbox<TelephonyDbContext>();
        builder.AddMessaging();
        builder.Services.AddValidatorsFromAssemblyContaining<TelephonyDbContext>(includeInternalTypes: true);
        builder.Services.AddSingleton<AreaLocks>();
        builder.Services.AddScoped<TelephonyGeneration>();
        builder.Services.AddScoped<TelephonyOperations>();
        builder.Services.AddScoped<TelephonyRuns>();
        builder.Services.AddSingleton<TelephonyJobs>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TelephonyJobs>());
        return builder;
    }
}
