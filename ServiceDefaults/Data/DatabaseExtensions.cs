using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using CallLogs.ServiceDefaults.Outbox;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;

namespace CallLogs.ServiceDefaults.Data;

public static class DatabaseExtensions
{
    /// <summary>
    /// The service's own PostgreSQL database: an <see cref="NpgsqlDataSource"/> from
    /// <c>ConnectionStrings__{connectionName}</c>, the DbContext on it (snake_case names), a readiness
    /// check, and the checked-in migrations applied before anything else starts.
    /// </summary>
    /// <remarks>
    /// A service may keep a second DbContext on the same database (one data source is shared); give it its
    /// own migrations history table through <paramref name="configure"/>.
    /// </remarks>
    public static IHostApplicationBuilder AddServiceDatabase<TContext>(this IHostApplicationBuilder builder, string connectionName,
        Action<NpgsqlDbContextOptionsBuilder>? configure = null, Action<NpgsqlConnectionStringBuilder>? connection = null)
        where TContext : DbContext
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{connectionName} is not set. Set ConnectionStrings__{connectionName} to a PostgreSQL connection string (AppHost sets it for local runs).");
        }

        if (!builder.Services.Any(d => d.ServiceType == typeof(NpgsqlDataSource)))
        {
            builder.Services.AddNpgsqlDataSource(connectionString, ds =>
            {
                ds.ConnectionStringBuilder.ApplicationName ??= builder.Environment.ApplicationName;
                connection?.Invoke(ds.ConnectionStringBuilder);
            });
        }

        builder.Services.AddDbContext<TContext>((sp, options) =>
        {
            options.UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>(), npgsql => configure?.Invoke(npgsql)).UseSnakeCaseNamingConvention();
            if (sp.GetService<OutboxSignal>() is { } signal)
            {
                options.AddInterceptors(new OutboxSaveChangesInterceptor(signal));
            }
        });
        builder.Services.AddHealthChecks().AddDbContextCheck<TContext>($"database-{typeof(TContext).Name}", tags: ["ready"]);
        builder.Services.AddHostedService(sp => new MigrateDatabase<TContext>(sp.GetRequiredService<IServiceScopeFactory>(), connectionString));
        return builder;
    }
}

/// <summary>
/// Applies pending migrations in <see cref="IHostedLifecycleService.StartingAsync"/>, which runs before any
/// hosted service (the bus, relays, workers) starts. EF Core takes a lock, so instances may start together.
/// </summary>
internal sealed class MigrateDatabase<TContext>(IServiceScopeFactory scopes, string connectionString) : IHostedLifecycleService
    where TContext : DbContext
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await CreateDatabaseIfMissingAsync(cancellationToken);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        await db.Database.MigrateAsync(cancellationToken);
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
