namespace CallLogs.AppHost.Infrastructure;

/// <summary>
/// RabbitMQ, PostgreSQL and S3 under the same resource names and connection string shapes in both modes: Aspire's
/// container integrations, or executables from the machine's packages with their data under <c>.data/apphost</c>.
/// </summary>
public sealed class Servers(IDistributedApplicationBuilder builder)
{
    public InfrastructureMode Mode { get; } = InfrastructureSettings.Mode(builder.Configuration);

    private string DataOf(string name) => Path.Combine(InfrastructureSettings.DataDirectory(builder), name);

    public IResourceBuilder<IResourceWithConnectionString> AddRabbitMQ(string name) => Mode == InfrastructureMode.Containers
        ? builder.AddRabbitMQ(name).WithManagementPlugin().WithDataVolume($"calllogs-{name}-data")
        : builder.AddRabbitMqExecutable(name, DataOf(name));

    public IResourceBuilder<IResourceWithConnectionString> AddPostgres(string name) => Mode == InfrastructureMode.Containers
        ? builder.AddPostgres(name).WithDataVolume($"calllogs-{name}-data")
        : builder.AddPostgresExecutable(name, DataOf(name));

    public IResourceBuilder<IResourceWithConnectionString> AddS3(string name, params string[] buckets) => Mode == InfrastructureMode.Containers
        ? builder.AddS3Container(name)
        : builder.AddS3Executable(name, DataOf(name), buckets);
}

public static class ServerExtensions
{
    /// <summary>A database of the PostgreSQL server, whichever mode runs it.</summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddDatabase(this IResourceBuilder<IResourceWithConnectionString> server, string name) =>
        server.Resource switch
        {
            // Named explicitly: this method, in the nearer namespace, would otherwise call itself.
            PostgresServerResource container => PostgresBuilderExtensions.AddDatabase(server.ApplicationBuilder.CreateResourceBuilder(container), name),
            PostgresExecutableResource executable => PostgresExecutableExtensions.AddDatabase(server.ApplicationBuilder.CreateResourceBuilder(executable), name),
            var other => throw new ArgumentException($"{other.Name} is not a PostgreSQL server.", nameof(server)),
        };
}
