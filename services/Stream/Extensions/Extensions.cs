using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.ServiceDefaults.Secrets;
using CallLogs.Stream.Apis;
using CallLogs.Stream.Consumers;
using CallLogs.Stream.Data;
using CallLogs.Stream.Subscriptions;
using CallLogs.ServiceDefaults.Auth;
using FluentValidation;
using MassTransit;

namespace CallLogs.Stream.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StreamOptions>().BindConfiguration(StreamOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(StreamOptions.SectionName).Get<StreamOptions>() ?? new StreamOptions();
        builder.AddServiceDatabase<StreamDbContext>("streamdb");
        builder.AddOutbox<StreamDbContext>();
        builder.AddMessaging(bus =>
        {
            // Every instance gets every record and every revocation: one temporary (auto-delete, exclusive) queue per instance.
            // Temporary alone keeps the shared name (stream-fan-out-call-records), and an exclusive queue belongs to one
            // connection: a second instance got RESOURCE_LOCKED and never started. The instance id makes the names its own.
            var instance = Guid.NewGuid().ToString("N")[..12];
            void PerInstance(IEndpointRegistrationConfigurator endpoint)
            {
                endpoint.Temporary = true;
                endpoint.InstanceId = instance;
            }

            bus.AddConsumer<FanOutCallRecordsConsumer, FanOutCallRecordsConsumerDefinition>().Endpoint(PerInstance);
            bus.AddConsumer<StreamAccessRevokedConsumer>().Endpoint(PerInstance);
            bus.AddConsumer<StreamChannelMaskingChangedConsumer>().Endpoint(PerInstance);
            bus.AddConsumer<AreaCreatedConsumer, AreaCreatedConsumerDefinition>();
            bus.AddConsumer<AreaRenamedConsumer, AreaRenamedConsumerDefinition>();
        });
        builder.Services.AddValidatorsFromAssemblyContaining<StreamDbContext>(includeInternalTypes: true);
        builder.AddSecretSeal();
        builder.Services.AddSingleton<SubscriberRegistry>();
        builder.Services.AddScoped<SubscriptionGate>();
        builder.Services.AddHostedService<LeaseHeartbeat>();
        builder.Services.AddSignalR(o =>
        {
            o.KeepAliveInterval = options.KeepAliveInterval;
            o.ClientTimeoutInterval = options.KeepAliveTimeout * 2;
        });
        return builder;
    }

    public static WebApplication MapStreamApis(this WebApplication app)
    {
        app.UseWebSockets();
        app.MapChannelsApi();
        app.MapStreamOperationsApi();
        app.MapSubscribeApi();
        // A refused SignalR client is answered at the HTTP level (negotiate or connect), so its start() fails.
        app.UseWhen(http => http.Request.Path.StartsWithSegments(StreamHub.Path), hub => hub.UseMiddleware<HubAdmission>());
        app.MapHub<StreamHub>(StreamHub.Path).AllowAnonymous().AllowAccessTokenInQuery();
        return app;
    }
}
