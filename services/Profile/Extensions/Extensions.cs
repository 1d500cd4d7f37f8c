using CallLogs.Profile.Data;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.ServiceDefaults.Secrets;
using FluentValidation;

namespace CallLogs.Profile.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<ProfileDbContext>("profiledb");
        builder.AddOutbox<ProfileDbContext>();
        builder.AddMessaging();
        builder.AddSecretSeal();
        builder.Services.AddValidatorsFromAssemblyContaining<ProfileDbContext>(includeInternalTypes: true);
        return builder;
    }
}
