using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace CallLogs.ServiceDefaults.Data;

/// <summary>
/// Applies pending migrations in <see cref="IHostedLifecycleService.StartingAsync"/>, which runs before any
/// hosted service (the bus, relays, workers) starts. Instances (replicas) may start together: one migrates while
/// the others wait on an advisory lock of the database, then find nothing left to do.
/// </summary>
/// <remarks>
/// A restart usually has nothing to apply. The history table says so in one query, which spares the start EF's
/// migrator: it builds the model and the migrations' snapshot to compare them, the largest part of a start on a busy
/// machine. The model is then built when first used, beside the bus starting.
/// </remarks>
internal sealed class MigrateDatabase<TContext>(IServiceScopeFactory scopes, string connectionString) : IHostedLifecycleService
    where TContext : DbContext
{
    /// <summary>Advisory lock key of "migrating this database" (advisory locks are per database).</summary>
    private const long MigrationLock = 0x43616C6C4C6F6773; // "CallLogs"

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        if (await AllMigrationsAppliedAsync(scope.ServiceProvider, cancellationToken))
        {
            return;
        }

        await CreateDatabaseIfMissingAsync(cancellationToken);
        var db = scope.ServiceProvider.GetRequiredService<TContext>();

        // EF Core's own migration lock does not cover two instances creating the history table and the first tables
        // at once (seen as "relation already exists" with two replicas starting together).
        await using var lockConnection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await lockConnection.OpenAsync(cancellationToken);
        // Waiting may take long while another instance migrates on a busy machine; that instance dying releases the lock.
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({MigrationLock})", lockConnection) { CommandTimeout = 300 })
        {
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        // Npgsql's migrator reads the history table without checking that it exists and logs the failure as an error
        // on every first start (npgsql/efcore.pg#3407): the table is made first, so a new database starts without one.
        await db.Database.ExecuteSqlRawAsync(db.GetService<IHistoryRepository>().GetCreateIfNotExistsScript(), cancellationToken);
        await db.Database.MigrateAsync(cancellationToken);
        // Closing the connection releases the lock (also when migrating failed).
    }

    /// <summary>Whether every migration of <typeparamref name="TContext"/> is in its history table (false when the database or the table is missing).</summary>
    private static async Task<bool> AllMigrationsAppliedAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var known = typeof(TContext).Assembly.GetTypes()
            .Where(t => t.GetCustomAttribute<DbContextAttribute>()?.ContextType == typeof(TContext))
            .Select(t => t.GetCustomAttribute<MigrationAttribute>()?.Id)
            .OfType<string>()
            .ToList();
        var options = RelationalOptionsExtension.Extract(services.GetRequiredService<DbContextOptions<TContext>>());
        var table = options.MigrationsHistoryTableSchema is { } schema
            ? $"\"{schema}\".\"{options.MigrationsHistoryTableName ?? HistoryRepository.DefaultTableName}\""
            : $"\"{options.MigrationsHistoryTableName ?? HistoryRepository.DefaultTableName}\"";
        try
        {
            await using var connection = await services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync(cancellationToken);
            // Asked first, so that a new database does not make the server log "relation does not exist" as an error.
            await using (var exists = new NpgsqlCommand("SELECT to_regclass(@table) IS NOT NULL", connection) { Parameters = { new("table", table) } })
            {
                if (await exists.ExecuteScalarAsync(cancellationToken) is not true)
                {
                    return false;
                }
            }

            // The snake_case naming convention names the history table's columns too.
            await using var applied = new NpgsqlCommand($"SELECT migration_id FROM {table}", connection);
            await using var reader = await applied.ExecuteReaderAsync(cancellationToken);
            var ids = new HashSet<string>();
            while (await reader.ReadAsync(cancellationToken))
            {
                ids.Add(reader.GetString(0));
            }

            return known.All(ids.Contains);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InvalidCatalogName or PostgresErrorCodes.UndefinedTable)
        {
            return false;
        }
    }

    /// <summary>
    /// Creates the database through the server's maintenance database first, so that a first start does not log
    /// the "database does not exist" error that EF Core's own check produces before creating it.
    /// </summary>
    private async Task CreateDatabaseIfMissingAsync(CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(target.Database))
        {
            return;
        }

        var maintenance = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", target.Database);
        if (await exists.ExecuteScalarAsync(cancellationToken) is null)
        {
            try
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{target.Database.Replace("\"", "\"\"")}\"", connection);
                await create.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
                // Another instance created it meanwhile.
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
