namespace CallLogs.AppHost.Infrastructure;

/// <summary>An S3-compatible container (MinIO) with the same connection string shape as <see cref="S3ExecutableResource"/>.</summary>
public sealed class S3ContainerResource(string name, ParameterResource user, ParameterResource password)
    : ContainerResource(name), IResourceWithConnectionString
{
    public ParameterResource User { get; } = user;
    public ParameterResource Password { get; } = password;
    public EndpointReference Http => new(this, "http");

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Endpoint={Http.Property(EndpointProperty.Url)};AccessKey={User};SecretKey={Password};Region=us-east-1");
}

public static class S3ContainerExtensions
{
    public static IResourceBuilder<S3ContainerResource> AddS3Container(this IDistributedApplicationBuilder builder, string name)
    {
        var user = builder.AddParameter($"{name}-user", "calllogs");
        var password = builder.AddParameter($"{name}-password", new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true, persist: true);
        return builder.AddResource(new S3ContainerResource(name, user.Resource, password.Resource))
            .WithImage("minio/minio", "RELEASE.2025-04-22T22-12-26Z")
            .WithArgs("server", "/data", "--console-address", ":9001")
            .WithEnvironment("MINIO_ROOT_USER", user)
            .WithEnvironment("MINIO_ROOT_PASSWORD", password)
            .WithHttpEndpoint(targetPort: 9000, name: "http")
            .WithHttpEndpoint(targetPort: 9001, name: "console")
            .WithUrlForEndpoint("console", url => url.DisplayText = "MinIO console")
            .WithVolume($"calllogs-{name}-data", "/data")
            .WithHttpHealthCheck("/minio/health/ready", endpointName: "http")
            .WithIconName("Archive");
    }
}
