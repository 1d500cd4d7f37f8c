using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using Amazon.S3;
using CallLogs.TestServers;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Secrets;
using CallLogs.ServiceDefaults.Storage;
using DotNet.Testcontainers.Builders;
using Npgsql;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;
using Xunit;

namespace CallLogs.Testing;

/// <summary>
/// Real RabbitMQ, PostgreSQL and S3 for the integration tests of one test assembly. Taken, in this order,
/// from environment variables (CALLLOGS_TEST_RABBITMQ, CALLLOGS_TEST_RABBITMQ_MANAGEMENT, CALLLOGS_TEST_POSTGRES,
/// CALLLOGS_TEST_S3: the test command sets them to one shared set of servers), from Testcontainers when a Docker
/// engine answers (S3 is then still a private s3rver), or from private instances started by CallLogs.TestServers.
/// Every test isolates itself with a fresh virtual host, database and bucket; the virtual hosts and databases made here
/// are removed when the fixture is disposed, so shared servers do not fill up run after run.
/// </summary>
public sealed class Infrastructure : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly ConcurrentBag<string> _databases = [];
    private readonly ConcurrentBag<string> _virtualHosts = [];
    private HttpClient? _management;

    public Uri RabbitMqUri { get; private set; } = null!;
    public Uri RabbitMqManagementUri { get; private set; } = null!;
    public string PostgresAdminConnectionString { get; private set; } = "";
    public string S3ConnectionString { get; private set; } = "";
    public S3Settings S3 => S3Settings.Parse(S3ConnectionString);
    public string SigningKey { get; } = TokenIssuer.NewSigningKey();
    public TokenIssuer Tokens => new(SigningKey);

    /// <summary>The Sealing:Key of every service these tests start (call records' secrets are sealed with it).</summary>
    public string SealingKey { get; } = TokenIssuer.NewSigningKey();

    /// <summary>Seals records as ingest does before it publishes them (with <see cref="SealingKey"/>).</summary>
    public SecretSeal Seal => new(Microsoft.Extensions.Options.Options.Create(new SealingOptions { Key = SealingKey }));

    /// <summary>Where the servers came from: environment, testcontainers or private.</summary>
    public string Source { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("CALLLOGS_TEST_RABBITMQ") is { Length: > 0 } rabbit)
        {
            RabbitMqUri = new Uri(rabbit);
            RabbitMqManagementUri = new Uri(Required("CALLLOGS_TEST_RABBITMQ_MANAGEMENT"));
            PostgresAdminConnectionString = Required("CALLLOGS_TEST_POSTGRES");
            S3ConnectionString = Required("CALLLOGS_TEST_S3");
            Source = "environment";
        }
        else if (!await TryTestcontainersAsync())
        {
            var directory = Path.Combine(RepositoryPaths.Data, $"tests-{Guid.NewGuid():N}");
            var local = await LocalInfrastructure.StartAsync(directory, temporary: true, _ => _ => { }, CancellationToken.None);
            _owned.Add(local);
            UseEndpoints(local.Endpoints);
            Source = "private";
        }

        _management = CreateManagementClient();
    }

    /// <summary>A client of RabbitMQ's management API, signed in as the broker's user (its paths start with <c>api/</c>).</summary>
    public HttpClient CreateManagementClient()
    {
        var management = new HttpClient { BaseAddress = RabbitMqManagementUri };
        var userInfo = RabbitMqUri.UserInfo.Length > 0 ? Uri.UnescapeDataString(RabbitMqUri.UserInfo) : "guest:guest";
        management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(userInfo)));
        return management;
    }

    public async Task DisposeAsync()
    {
        // Private servers go with their data below; shared ones keep what is not removed here.
        if (_owned.Count == 0 && _management is not null)
        {
            await RemoveCreatedAsync();
        }

        _management?.Dispose();
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
    }

    /// <summary>A fresh, empty RabbitMQ virtual host, deleted with the fixture; returns its amqp:// URI.</summary>
    public async Task<string> NewRabbitMqVirtualHostAsync()
    {
        var vhost = $"test-{Guid.NewGuid():N}";
        _virtualHosts.Add(vhost);
        using var created = await _management!.PutAsync($"api/vhosts/{vhost}", null);
        created.EnsureSuccessStatusCode();
        var user = RabbitMqUri.UserInfo.Split(':')[0] is { Length: > 0 } u ? Uri.UnescapeDataString(u) : "guest";
        using var permissions = await _management.PutAsync($"api/permissions/{vhost}/{Uri.EscapeDataString(user)}",
            new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json"));
        permissions.EnsureSuccessStatusCode();
        return new UriBuilder(RabbitMqUri) { Path = "/" + vhost }.Uri.ToString();
    }

    /// <summary>Deletes a virtual host with its queues and messages (benchmarks leave none behind).</summary>
    public async Task DeleteRabbitMqVirtualHostAsync(string amqpUri)
    {
        using var deleted = await _management!.DeleteAsync($"api/vhosts/{VirtualHostOf(amqpUri)}");
    }

    /// <summary>Drops a database, closing its connections (benchmarks leave none behind).</summary>
    public async Task DropDatabaseAsync(string database)
    {
        await using var admin = new NpgsqlConnection(PostgresAdminConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>The number of messages waiting in a queue of a virtual host (management API).</summary>
    public async Task<int> QueueDepthAsync(string amqpUri, string queue)
    {
        using var response = await _management!.GetAsync($"api/queues/{VirtualHostOf(amqpUri)}/{Uri.EscapeDataString(queue)}");
        if (!response.IsSuccessStatusCode)
        {
            return 0;
        }

        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.TryGetProperty("messages", out var messages) ? messages.GetInt32() : 0;
    }

    /// <summary>
    /// Drops the databases and deletes the virtual hosts this fixture made, once every test is done with them. Idle
    /// pooled connections of this process are closed first, and <c>WITH (FORCE)</c> (PostgreSQL 13+) ends any other
    /// session still on a database (a service a test left running); one that cannot be removed does not stop the others.
    /// </summary>
    private async Task RemoveCreatedAsync()
    {
        var failures = new List<Exception>();
        NpgsqlConnection.ClearAllPools();
        foreach (var database in _databases)
        {
            try
            {
                await DropDatabaseAsync(database);
            }
            catch (NpgsqlException e)
            {
                failures.Add(e);
            }
        }

        foreach (var vhost in _virtualHosts)
        {
            try
            {
                // 404: a benchmark or test deleted it already.
                using var deleted = await _management!.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(vhost)}");
                if (!deleted.IsSuccessStatusCode && deleted.StatusCode != System.Net.HttpStatusCode.NotFound)
                {
                    failures.Add(new HttpRequestException($"Deleting virtual host {vhost} answered {(int)deleted.StatusCode}."));
                }
            }
            catch (HttpRequestException e)
            {
                failures.Add(e);
            }
        }

        if (failures.Count > 0)
        {
            throw new AggregateException("Some test databases or virtual hosts could not be removed from the shared servers.", failures);
        }
    }

    /// <summary>The virtual host of an amqp:// URI, escaped for the management API's paths.</summary>
    public static string VirtualHostOf(string amqpUri) => Uri.EscapeDataString(new Uri(amqpUri).AbsolutePath.TrimStart('/'));

    /// <summary>
    /// A connection string to a database name nobody used yet (the service's migrations create it, or the test); the
    /// database is dropped with the fixture.
    /// </summary>
    public Task<string> NewDatabaseAsync()
    {
        var database = $"test_{Guid.NewGuid():N}";
        _databases.Add(database);
        return Task.FromResult(new NpgsqlConnectionStringBuilder(PostgresAdminConnectionString) { Database = database }.ConnectionString);
    }

    /// <summary>A new, empty bucket in the S3 server.</summary>
    public async Task<string> NewBucketAsync()
    {
        var bucket = $"test-{Guid.NewGuid():N}"[..36];
        using var s3 = CreateS3Client();
        await s3.PutBucketAsync(bucket);
        return bucket;
    }

    public IAmazonS3 CreateS3Client() => S3.CreateClient();

    private void UseEndpoints(InfrastructureEndpoints endpoints)
    {
        RabbitMqUri = endpoints.RabbitMq;
        RabbitMqManagementUri = endpoints.RabbitMqManagement;
        PostgresAdminConnectionString = endpoints.PostgresAdmin;
        S3ConnectionString = endpoints.S3;
    }

    private async Task<bool> TryTestcontainersAsync()
    {
        try
        {
            var rabbit = new RabbitMqBuilder("rabbitmq:3.13-management").WithPortBinding(15672, true)
                .WithUsername("guest").WithPassword("guest").Build();
            var postgres = new PostgreSqlBuilder("postgres:16").Build();
            await Task.WhenAll(rabbit.StartAsync(), postgres.StartAsync());
            _owned.Add(rabbit);
            _owned.Add(postgres);
            var s3 = new S3Server(Path.Combine(RepositoryPaths.Data, $"tests-s3-{Guid.NewGuid():N}"), _ => { });
            await s3.StartAsync(CancellationToken.None);
            _owned.Add(s3);

            var amqp = new Uri(rabbit.GetConnectionString());
            UseEndpoints(new InfrastructureEndpoints(amqp, new Uri($"http://{rabbit.Hostname}:{rabbit.GetMappedPublicPort(15672)}/"),
                postgres.GetConnectionString(), s3.ConnectionString));
            Source = "testcontainers";
            return true;
        }
        catch (Exception ex) when (ex is DockerUnavailableException || ex.GetType().Name.Contains("Docker", StringComparison.Ordinal))
        {
            return false;
        }
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} must be set when CALLLOGS_TEST_RABBITMQ is.");
}
