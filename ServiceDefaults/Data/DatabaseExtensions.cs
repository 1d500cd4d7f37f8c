using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Outbox;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
                // Commands are traced inside a request's or a message's trace only: the pollers' queries every few
                // seconds would otherwise bury the traces of real traffic on the dashboard.
                ds.ConfigureTracing(tracing => tracing
                    .ConfigureCommandFilter(_ => System.Diagnostics.Activity.Current is not null)
                    .ConfigureBatchFilter(_ => System.Diagnostics.Activity.Current is not null));
                connection?.Invoke(ds.ConnectionStringBuilder);
            });
        }

        // A context made while the audit capture holds a request's transaction joins it (see AuditTransaction).
        builder.Services.TryAddScoped<AuditTransaction>();
        builder.Services.AddDbContext<TContext>((sp, options) =>
        {
            sp.GetRequiredService<AuditTransaction>().UseIn(options, configure);
            options.UseSnakeCaseNamingConvention();
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
