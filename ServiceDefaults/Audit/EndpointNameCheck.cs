using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// Stops a service at start when an endpoint under <see cref="AuditCaptureOptions.ApiPathPrefix"/> has no name
/// (<c>.WithName("CreateExportProfile")</c>). The name is the audit event name of its calls and the operation id of the
/// OpenAPI document: a trail searched by event name must not lose calls because a new endpoint was named by accident.
/// It runs once the host has started (<see cref="IHostedLifecycleService.StartedAsync"/>): only when the web host has built
/// its pipeline does the endpoint data source hold every mapped endpoint.
/// </summary>
internal sealed class EndpointNameCheck(EndpointDataSource endpoints, IOptions<AuditCaptureOptions> options) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var prefix = new PathString(options.Value.ApiPathPrefix);
        var unnamed = endpoints.Endpoints.OfType<RouteEndpoint>()
            .Where(e => new PathString("/" + (e.RoutePattern.RawText ?? "").TrimStart('/')).StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase)
                && e.Metadata.GetMetadata<IEndpointNameMetadata>() is null)
            .Select(e => e.DisplayName ?? e.RoutePattern.RawText)
            .ToList();
        if (unnamed.Count > 0)
        {
            throw new InvalidOperationException(
                $"Every endpoint under {prefix} needs a name, the event name of its audited calls: add .WithName(\"VerbResource\") to {string.Join(", ", unnamed)}.");
        }

        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
