using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace CallLogs.ServiceDefaults.Audit;

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
