namespace CallLogs.TestServers;

/// <summary>How to reach the three servers the services need.</summary>
public sealed record InfrastructureEndpoints(Uri RabbitMq, Uri RabbitMqManagement, string PostgresAdmin, string S3)
{
    /// <summary>The environment variables tests read (CI sets them to shared servers).</summary>
    public IReadOnlyDictionary<string, string> TestEnvironment => new Dictionary<string, string>
    {
        ["CALLLOGS_TEST_RABBITMQ"] = RabbitMq.ToString(),
        ["CALLLOGS_TEST_RABBITMQ_MANAGEMENT"] = RabbitMqManagement.ToString(),
        ["CALLLOGS_TEST_POSTGRES"] = PostgresAdmin,
        ["CALLLOGS_TEST_S3"] = S3,
    };
}

/// <summary>
/// RabbitMQ, PostgreSQL and S3 as private instances started from the programs on this machine, in parallel.
/// </summary>
public sealed class LocalInfrastructure : IAsyncDisposable
{
    private LocalInfrastructure(RabbitMqServer rabbitMq, PostgresServer postgres, S3Server s3, string? ownedDirectory)
    {
        RabbitMq = rabbitMq;
        Postgres = postgres;
        S3 = s3;
        _ownedDirectory = ownedDirectory;
    }

    private readonly string? _ownedDirectory;

    public RabbitMqServer RabbitMq { get; }
    public PostgresServer Postgres { get; }
    public S3Server S3 { get; }
    public IReadOnlyList<IServerResource> Servers => [RabbitMq, Postgres, S3];

    public InfrastructureEndpoints Endpoints => new(RabbitMq.AmqpUri, RabbitMq.ManagementUri, Postgres.AdminConnectionString, S3.ConnectionString);

    /// <summary>
    /// Starts the three servers. <paramref name="temporary"/>: a throw-away folder removed on dispose, a unique
    /// RabbitMQ node and no fsync (tests); otherwise <paramref name="dataDirectory"/> keeps data across runs.
    /// </summary>
    public static async Task<LocalInfrastructure> StartAsync(string dataDirectory, bool temporary, Func<string, Action<string>> logFor,
        CancellationToken cancellationToken)
    {
        var node = temporary ? $"calllogs-test-{Guid.NewGuid():N}"[..24] : "calllogs";
        var infrastructure = new LocalInfrastructure(
            new RabbitMqServer(Path.Combine(dataDirectory, "rabbitmq"), node, logFor("rabbitmq")),
            new PostgresServer(Path.Combine(dataDirectory, "postgres"), durable: !temporary, logFor("postgres")),
            new S3Server(Path.Combine(dataDirectory, "s3"), logFor("s3")),
            temporary ? dataDirectory : null);
        try
        {
            await Task.WhenAll(infrastructure.Servers.Select(s => s.StartAsync(cancellationToken)));
            return infrastructure;
        }
        catch
        {
            await infrastructure.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Servers.Select(s => s.StopAsync()));
        if (_ownedDirectory is not null)
        {
            try
            {
                Directory.Delete(_ownedDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A server still writing its last file: the folder is git-ignored and cleaned next time.
            }
        }
    }
}
