using CallLogs.ServiceDefaults.Messaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CallLogs.ServiceDefaults.Audit;

public static class AuditCaptureExtensions
{
    /// <summary>Marks a bulk data endpoint (call records, stream frames): its calls are not management calls and are not recorded.</summary>
    public static TBuilder ExcludeFromAudit<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ExcludeFromAuditMetadata.Instance);

    /// <summary>
    /// Names the kind of resource this endpoint answers with (its <c>id</c>), where the route does not say it: for
    /// <c>POST .../audit/trail/start</c> the answer is the <c>AuditTrail</c>.
    /// </summary>
    public static TBuilder RecordsResource<TBuilder>(this TBuilder builder, string kind) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AuditResourceMetadata(kind));

    /// <summary>Options and event source of the capture; <c>AddServiceDefaults</c> calls it.</summary>
    public static IHostApplicationBuilder AddAuditCapture(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuditCaptureOptions>().BindConfiguration(AuditCaptureOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(new AuditEventSource(MessagingExtensions.ServiceName(builder)));
        builder.Services.AddSingleton<UntrustedCallLimiter>();
        builder.Services.AddHostedService<EndpointNameCheck>();
        return builder;
    }

    /// <summary>Records every management call; <c>MapDefaultEndpoints</c> puts it first in the pipeline.</summary>
    public static IApplicationBuilder UseAuditCapture(this IApplicationBuilder app) => app.UseMiddleware<AuditCaptureMiddleware>();
}
