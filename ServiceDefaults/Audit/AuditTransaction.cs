using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
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

/// <summary>
/// Makes a transaction that a joined DbContext begins a savepoint of the request's transaction: the begin is answered
/// with the request's transaction, and <see cref="AuditTransactionFactory"/> wraps it in a <see cref="SavepointTransaction"/>.
/// Every SaveChanges of a joined context runs in such a transaction (EF Core skips it for a single statement), so a
/// failed save that the handler catches (a unique violation answered 409) is rolled back to its savepoint and leaves
/// the request's transaction usable, as it would be without it.
/// </summary>
internal sealed class AuditTransactionInterceptor : DbTransactionInterceptor, ISaveChangesInterceptor
{
    /// <summary>Begins answered with the request's transaction, by EF Core's transaction id, until the factory wraps them.</summary>
    internal static readonly ConcurrentDictionary<Guid, string> Savepoints = new();

    internal AuditTransaction? Joined { get; set; }

    public InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        AlwaysInTransaction(eventData.Context);
        return result;
    }

    public ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        AlwaysInTransaction(eventData.Context);
        return ValueTask.FromResult(result);
    }

    private void AlwaysInTransaction(DbContext? context)
    {
        if (context is not null && Joined is { IsOpen: true } joined && ReferenceEquals(context.Database.GetDbConnection(), joined.Connection))
        {
            context.Database.AutoTransactionBehavior = AutoTransactionBehavior.Always;
        }
    }

    public override InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData,
        InterceptionResult<DbTransaction> result)
    {
        if (Join(connection, eventData) is not { } outer)
        {
            return result;
        }

        var savepoint = SavepointName(eventData.TransactionId);
        outer.Save(savepoint);
        Savepoints[eventData.TransactionId] = savepoint;
        return InterceptionResult<DbTransaction>.SuppressWithResult(outer);
    }

    public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection,
        TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        if (Join(connection, eventData) is not { } outer)
        {
            return result;
        }

        var savepoint = SavepointName(eventData.TransactionId);
        await outer.SaveAsync(savepoint, cancellationToken);
        Savepoints[eventData.TransactionId] = savepoint;
        return InterceptionResult<DbTransaction>.SuppressWithResult(outer);
    }

    private NpgsqlTransaction? Join(DbConnection connection, TransactionStartingEventData eventData)
    {
        if (Joined is not { IsOpen: true } joined || !ReferenceEquals(connection, joined.Connection))
        {
            return null;
        }

        if (eventData.IsolationLevel is not (IsolationLevel.Unspecified or IsolationLevel.ReadCommitted))
        {
            throw new InvalidOperationException(
                $"A recorded change runs in its request's READ COMMITTED transaction, so its event is committed with it; {eventData.IsolationLevel} cannot be had inside it.");
        }

        return joined.Transaction;
    }

    private static string SavepointName(Guid transactionId) => "calllogs_" + transactionId.ToString("N");
}

/// <summary>EF Core's transaction factory, which wraps a begin answered by <see cref="AuditTransactionInterceptor"/> in a savepoint.</summary>
internal sealed class AuditTransactionFactory(RelationalTransactionFactoryDependencies dependencies) : RelationalTransactionFactory(dependencies)
{
    public override RelationalTransaction Create(IRelationalConnection connection, DbTransaction transaction, Guid transactionId,
        IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger, bool transactionOwned) =>
        transactionOwned && AuditTransactionInterceptor.Savepoints.TryRemove(transactionId, out var savepoint)
            ? new SavepointTransaction(connection, transaction, transactionId, logger, Dependencies.SqlGenerationHelper, savepoint)
            : base.Create(connection, transaction, transactionId, logger, transactionOwned);
}

/// <summary>
/// A handler's transaction inside the request's: commit releases its savepoint, rollback (or disposing it uncommitted)
/// rolls back to it. The request's transaction itself is never committed, rolled back or disposed from here.
/// </summary>
internal sealed class SavepointTransaction(IRelationalConnection connection, DbTransaction transaction, Guid transactionId,
    IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger, ISqlGenerationHelper sqlGenerationHelper, string savepoint)
    : RelationalTransaction(connection, transaction, transactionId, logger, transactionOwned: false, sqlGenerationHelper)
{
    private bool _completed;

    private DbTransaction Outer => this.GetDbTransaction();

    public override void Commit()
    {
        Outer.Release(savepoint);
        _completed = true;
        ClearTransaction();
    }

    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        await Outer.ReleaseAsync(savepoint, cancellationToken);
        _completed = true;
        await ClearTransactionAsync(cancellationToken);
    }

    public override void Rollback()
    {
        _completed = true;
        Outer.Rollback(savepoint);
        Outer.Release(savepoint);
        ClearTransaction();
    }

    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        _completed = true;
        await Outer.RollbackAsync(savepoint, cancellationToken);
        await Outer.ReleaseAsync(savepoint, cancellationToken);
        await ClearTransactionAsync(cancellationToken);
    }

    public override void Dispose()
    {
        if (!_completed)
        {
            _completed = true;
            try
            {
                Outer.Rollback(savepoint);
                Outer.Release(savepoint);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // The request's transaction failed: it is rolled back whole, and the capture answers so.
            }
        }

        base.Dispose();
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_completed)
        {
            _completed = true;
            try
            {
                await Outer.RollbackAsync(savepoint);
                await Outer.ReleaseAsync(savepoint);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // As in Dispose.
            }
        }

        await base.DisposeAsync();
    }
}
