using System.Net;
using CallLogs.Testing;
using Npgsql;

namespace CallLogs.ServiceDefaults.Tests;

/// <summary>The test fixture leaves nothing behind on shared servers: what it made is removed when it is disposed.</summary>
public sealed class InfrastructureCleanupTests
{
    [Fact]
    public async Task A_disposed_fixture_has_dropped_its_databases_even_in_use_and_deleted_its_virtual_hosts()
    {
        var infra = new Infrastructure();
        await infra.InitializeAsync();
        if (infra.Source != "environment")
        {
            // Private servers and containers are thrown away with their data; there is nothing to remove.
            await infra.DisposeAsync();
            return;
        }

        var admin = infra.PostgresAdminConnectionString;
        var connectionString = await infra.NewDatabaseAsync();
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await Sql.ExecuteAsync(admin, $"CREATE DATABASE \"{database}\"");
        await using (var pooled = new NpgsqlConnection(connectionString))
        {
            await pooled.OpenAsync(); // back to the pool, still connected, when disposed
        }

        await using var open = await Sql.OpenAsync(connectionString); // a session a test left open
        var vhost = Infrastructure.VirtualHostOf(await infra.NewRabbitMqVirtualHostAsync());
        using var management = infra.CreateManagementClient();
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync($"api/vhosts/{vhost}")).StatusCode);

        await infra.DisposeAsync();

        Assert.Equal(0L, await Sql.CountAsync(admin, $"SELECT count(*) FROM pg_database WHERE datname = '{database}'"));
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync($"api/vhosts/{vhost}")).StatusCode);
    }
}
