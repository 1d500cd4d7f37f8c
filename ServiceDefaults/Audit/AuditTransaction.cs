using System.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// The one database transaction a recorded change runs in, so the change and its audit event are committed together
/// or not at all. The capture arms it before a mutating call's handler runs; the first DbContext the request creates
/// opens it (so a call refused before it touches the database costs no connection), every later one joins it (see
/// <see cref="Data.DatabaseExtensions.AddServiceDatabase{TContext}"/>); the capture writes the event into the outbox in
/// it and commits it before the response leaves. Plain statements run in it as they are, and a transaction the handler
/// begins (explicitly, or SaveChanges' own) becomes a savepoint, so the handler's commit and rollback keep their
/// meaning. Code needs no change to be covered; it only must not ask for an isolation level other than READ COMMITTED,
/// or open connections of its own for a change.
/// </summary>
public sealed class AuditTransaction(NpgsqlDataSource dataSource) : IAsyncDisposable
{
    private readonly AuditTransactionInterceptor _interceptor = new();
    private bool _armed;

    public NpgsqlConnection? Connection { get; private set; }
    public NpgsqlTransaction? Transaction { get; private set; }

    /// <summary>True from the first DbContext of an armed request until the commit or the rollback.</summary>
    public bool IsOpen => Transaction is { Connection: not null };

    /// <summary>The DbContexts this request creates from now on join one transaction.</summary>
    internal void Arm() => _armed = true;

    internal async Task CommitAsync()
    {
        _armed = false;
        await Transaction!.CommitAsync(CancellationToken.None);
        await CloseAsync();
    }

    internal async Task RollbackAsync()
    {
        _armed = false;
        try
        {
            if (IsOpen)
            {
                await Transaction!.RollbackAsync(CancellationToken.None);
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The connection is gone: PostgreSQL has rolled the transaction back already.
        }

        await CloseAsync();
    }

    /// <summary>
    /// The database of a DbContext created in this request's scope: the transaction's connection while it is open,
    /// else the data source. The transaction factory is the same either way, so EF Core keeps one service provider.
    /// </summary>
    internal void UseIn(DbContextOptionsBuilder options, Action<NpgsqlDbContextOptionsBuilder>? configure)
    {
        if (_armed && !IsOpen)
        {
            // Options are built synchronously; a pooled connection opens without I/O, and BEGIN is sent with the first statement.
            Connection = dataSource.OpenConnection();
            Transaction = Connection.BeginTransaction(IsolationLevel.ReadCommitted);
            _interceptor.Joined = this;
        }

        if (IsOpen)
        {
            options.UseNpgsql(Connection!, npgsql => configure?.Invoke(npgsql)).AddInterceptors(_interceptor);
        }
        else
        {
            options.UseNpgsql(dataSource, npgsql => configure?.Invoke(npgsql));
        }

        options.ReplaceService<IRelationalTransactionFactory, AuditTransactionFactory>();
    }

    private async Task CloseAsync()
    {
        _interceptor.Joined = null;
        if (Transaction is not null)
        {
            await Transaction.DisposeAsync();
            Transaction = null;
        }

        // Closed but kept: a DbContext that still holds it opens it again by itself (outside any transaction).
        if (Connection is not null)
        {
            await Connection.CloseAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
            Connection = null;
        }
    }
}
