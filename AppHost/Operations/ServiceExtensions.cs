using Microsoft.Extensions.Configuration;

namespace CallLogs.AppHost.Operations;

public static class ServiceExtensions
{
    /// <summary>
    /// A CallLogs service: its HTTP endpoint with a link to its OpenAPI document, ready when <c>/health</c> is (broker and
    /// database included), this run's token signing key, and <c>Replicas:&lt;name&gt;</c> (else <c>Replicas:all</c>,
    /// else 1) instances behind one address.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddService<TProject>(this IDistributedApplicationBuilder builder, string name, LocalTokens tokens)
        where TProject : IProjectMetadata, new()
    {
        var replicas = builder.Configuration.GetValue<int?>($"Replicas:{name}") ?? builder.Configuration.GetValue("Replicas:all", 1);
        return builder.AddProject<TProject>(name)
            .WithHttpEndpoint(name: "http")
            .WithUrlForEndpoint("http", endpoint => new ResourceUrlAnnotation { Url = $"{endpoint.Url}/openapi/v1.json", DisplayText = "OpenAPI" })
            .WithHttpHealthCheck("/health")
            .WithEnvironment("Auth__SigningKey", tokens.SigningKey)
            .WithReplicas(replicas);
    }

    /// <summary>Every service can reach every other by name (<c>services__&lt;name&gt;__http__0</c>, service discovery).</summary>
    public static void ConnectServices(params IResourceBuilder<ProjectResource>[] services)
    {
        foreach (var service in services)
        {
            foreach (var other in services.Where(o => o != service))
            {
                service.WithReference(other);
            }
        }
    }
}
