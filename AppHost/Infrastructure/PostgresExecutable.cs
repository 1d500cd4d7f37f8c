using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace CallLogs.AppHost.Infrastructure;

/// <summary>
/// A PostgreSQL cluster from the machine's postgresql package in its own data folder, listening on 127.0.0.1 only,
/// password logins (scram-sha-256) for user postgres; the password file is 0600.
/// </summary>
public sealed class PostgresExecutableResource(string name, string command, string dataDirectory, ParameterResource password)
    : ExecutableResource(name, command, dataDirectory), IResourceWithConnectionString
{
    public string DataDirectory { get; } = dataDirectory;
    public ParameterResource Password { get; } = password;
    public EndpointReference Primary => new(this, "tcp");
    public Dictionary<string, string> Databases { get; } = [];

    /// <summary>The shape of Aspire's PostgreSQL container resource, so services cannot tell the two apart.</summary>
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={Primary.Property(EndpointProperty.Host)};Port={Primary.Property(EndpointProperty.Port)};Username=postgres;Password={Password}");
}

/// <summary>One database of <see cref="PostgresExecutableResource"/>, created when the server is ready.</summary>
public sealed class PostgresExecutableDatabaseResource(string name, string databaseName, PostgresExecutableResource parent)
    : Resource(name), IResourceWithParent<PostgresExecutableResource>, IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;
    public PostgresExecutableResource Parent { get; } = parent;
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}

public static class PostgresExecutableExtensions
{
    public static IResourceBuilder<PostgresExecutableResource> AddPostgresExecutable(this IDistributedApplicationBuilder builder, string name, string dataDirectory)
    {
        var bin = BinDirectory();
        var password = builder.AddParameter($"{name}-password", () => ServerFiles.Password(Path.Combine(dataDirectory, "password")), secret: true);
        var (command, prefix) = ServerFiles.RunAs("postgres", Path.Combine(bin ?? "/usr/lib/postgresql/bin", "postgres"));
        var postgres = new PostgresExecutableResource(name, command, dataDirectory, password.Resource);

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(postgres, (_, ct) => InitializeClusterAsync(postgres, bin, ct));
        builder.Eventing.Subscribe<ResourceReadyEvent>(postgres, (@event, ct) => CreateDatabasesAsync(postgres, @event.Services, ct));
        var check = $"{name}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(check, _ => new PostgresHealthCheck(postgres, "postgres"), null, null));
        return builder.AddResource(postgres)
            .WithArgs(prefix)
            .WithArgs("-D", Path.Combine(dataDirectory, "cluster"), "-k", Path.Combine(dataDirectory, "socket"),
                "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=400")
            .WithEndpoint(name: "tcp", scheme: "tcp", env: "PGPORT")
            .WithUrlForEndpoint("tcp", url => url.DisplayLocation = UrlDisplayLocation.DetailsOnly)
            .WithHealthCheck(check)
            .WithIconName("DatabaseMultiple")
            .ExcludeFromManifest();
    }

    public static IResourceBuilder<PostgresExecutableDatabaseResource> AddDatabase(this IResourceBuilder<PostgresExecutableResource> server, string name)
    {
        var database = new PostgresExecutableDatabaseResource(name, name, server.Resource);
        server.Resource.Databases[name] = name;
        var check = $"{name}_check";
        server.ApplicationBuilder.Services.AddHealthChecks().Add(new HealthCheckRegistration(check, _ => new PostgresHealthCheck(server.Resource, name), null, null));
        return server.ApplicationBuilder.AddResource(database)
            .WithInitialState(new CustomResourceSnapshot { ResourceType = "PostgresDatabase", State = KnownResourceStates.Waiting, Properties = [] })
            .WithHealthCheck(check)
            .WithIconName("Database")
            .ExcludeFromManifest();
    }

    /// <summary>initdb on first start (as user postgres when we are root), with the password file as the superuser's password.</summary>
    private static async Task InitializeClusterAsync(PostgresExecutableResource postgres, string? bin, CancellationToken cancellationToken)
    {
        if (bin is null)
        {
            throw new InvalidOperationException("PostgreSQL is not installed: run ./build.sh run (it installs postgresql) or apt-get install postgresql.");
        }

        var data = ServerFiles.PrivateDirectory(postgres.DataDirectory);
        var passwordFile = Path.Combine(data, "password");
        await postgres.Password.GetValueAsync(cancellationToken);
        Directory.CreateDirectory(Path.Combine(data, "socket"));
        await ServerFiles.OwnAsync("postgres", data, cancellationToken);
        if (!File.Exists(Path.Combine(data, "cluster", "PG_VERSION")))
        {
            var (command, prefix) = ServerFiles.RunAs("postgres", Path.Combine(bin, "initdb"));
            await ServerFiles.RunAsync(command, [.. prefix, "-D", Path.Combine(data, "cluster"), "-U", "postgres", "--pwfile", passwordFile,
                "--auth-local=peer", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"], cancellationToken);
        }
    }

    /// <summary>Creates the missing databases, then shows them running (their own health checks then log in to each).</summary>
    private static async Task CreateDatabasesAsync(PostgresExecutableResource postgres, IServiceProvider services, CancellationToken cancellationToken)
    {
        var server = await postgres.ConnectionStringExpression.GetValueAsync(cancellationToken);
        await using var connection = new NpgsqlConnection($"{server};Database=postgres;Pooling=false");
        await connection.OpenAsync(cancellationToken);
        foreach (var database in postgres.Databases.Values)
        {
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
            exists.Parameters.AddWithValue("name", database);
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.Replace("\"", "\"\"")}\"", connection);
                await create.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        var notifications = services.GetRequiredService<ResourceNotificationService>();
        var model = services.GetRequiredService<DistributedApplicationModel>();
        foreach (var database in model.Resources.OfType<PostgresExecutableDatabaseResource>().Where(d => d.Parent == postgres))
        {
            await notifications.PublishUpdateAsync(database, state => state with { State = KnownResourceStates.Running, StartTimeStamp = DateTime.UtcNow });
        }
    }

    /// <summary>The newest PostgreSQL installed from Debian's packages (/usr/lib/postgresql/&lt;version&gt;/bin).</summary>
    private static string? BinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        return Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "postgres")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).FirstOrDefault()
            : null;
    }
}

/// <summary>Healthy when a password login to the database succeeds and answers a query (DCP's proxy accepts TCP before the server is up).</summary>
internal sealed class PostgresHealthCheck(PostgresExecutableResource postgres, string database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var server = await postgres.ConnectionStringExpression.GetValueAsync(cancellationToken);
            await using var connection = new NpgsqlConnection($"{server};Database={database};Pooling=false;Timeout=5");
            await connection.OpenAsync(cancellationToken);
            await using var query = new NpgsqlCommand("SELECT 1", connection);
            await query.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy(ex.Message);
        }
    }
}
