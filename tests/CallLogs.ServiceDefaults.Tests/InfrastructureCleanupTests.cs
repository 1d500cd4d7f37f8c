using System.Net;
using System.Net.Http.Headers;
using System.Text;
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
        await ExecuteAsync(admin, $"CREATE DATABASE \"{database}\"");
        await using (var pooled = new NpgsqlConnection(connectionString))
        {
            await pooled.OpenAsync(); // back to the pool, still connected, when disposed
        }

        await using var open = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await open.OpenAsync(); // a session a test left open
        var vhost = new Uri(await infra.NewRabbitMqVirtualHostAsync()).AbsolutePath.TrimStart('/');
        using var management = new HttpClient { BaseAddress = infra.RabbitMqManagementUri };
        var userInfo = infra.RabbitMqUri.UserInfo.Length > 0 ? Uri.UnescapeDataString(infra.RabbitMqUri.UserInfo) : "guest:guest";
        management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(userInfo)));
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync($"api/vhosts/{vhost}")).StatusCode);

        await infra.DisposeAsync();

        Assert.Equal(0L, await ScalarAsync(admin, $"SELECT count(*) FROM pg_database WHERE datname = '{database}'"));
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync($"api/vhosts/{vhost}")).StatusCode);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
