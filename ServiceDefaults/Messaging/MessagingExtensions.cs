using System.Text.Json.Serialization;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace CallLogs.ServiceDefaults.Messaging;

public static class MessagingExtensions
{
    public const string ConnectionName = "messaging";

    /// <summary>
    /// MassTransit over RabbitMQ from <c>ConnectionStrings__messaging</c> (an <c>amqp://</c> URI). Queues are
    /// named after the service, so each service gets its own copy of every event it consumes. The host
    /// waits until the bus is connected and its bindings exist before the service starts.
    /// </summary>
    public static IHostApplicationBuilder AddMessaging(this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator>? configure = null)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString) || !Uri.TryCreate(connectionString, UriKind.Absolute, out var uri))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionName} is not set to an amqp:// URI. Set ConnectionStrings__{ConnectionName}, e.g. amqp://guest:guest@127.0.0.1:5672/ (AppHost sets it for local runs).");
        }

        var prefix = ServiceName(builder);
        builder.Services.AddMassTransit(bus =>
        {
            bus.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter(prefix, includeNamespace: false));
            configure?.Invoke(bus);
            bus.UsingRabbitMq((context, rabbit) =>
            {
                rabbit.Host(uri, host => host.ConnectionName(prefix));
                // Call record batches are mostly empty optional fields: leaving nulls out shrinks every message RabbitMQ persists.
                rabbit.ConfigureJsonSerializerOptions(options =>
                {
                    options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
                    // MassTransit indents its JSON by default: whitespace RabbitMQ persists and every consumer parses again
                    // (ten bytes per field of each call record in a batch), and that reached subscribers inside unknown fields.
                    options.WriteIndented = false;
                    return options;
                });
                rabbit.ConfigureEndpoints(context);
            });
        });
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration("broker", _ => new BrokerHealthCheck(uri), HealthStatus.Unhealthy, ["ready"]));
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = TimeSpan.FromSeconds(60);
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });
        return builder;
    }

    /// <summary>The service's short name (<c>profile</c>, <c>export</c>...), from OTEL_SERVICE_NAME or the assembly.</summary>
    public static string ServiceName(IHostApplicationBuilder builder) =>
        (builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName)
            .Replace("CallLogs.", "", StringComparison.OrdinalIgnoreCase)
            .ToLowerInvariant();
}
