using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CallLogs.ServiceDefaults.Outbox;

/// <summary>
/// Wakes the relay once outbox rows are committed, so events leave at once instead of at the next poll: after a save
/// that added outbox rows, or, when that save ran inside a transaction of the context, after the transaction commits
/// (woken earlier, the relay would find nothing yet and wait for its next poll). Saves without new outbox rows (the
/// relay's own among them) wake nothing. A transaction committed outside EF (the audit capture's) wakes the relay itself.
/// </summary>
public sealed class OutboxSaveChangesInterceptor(OutboxSignal signal) : ISaveChangesInterceptor, IDbTransactionInterceptor
{
    public ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        if (eventData.Context is { } context && context.ChangeTracker.Entries<OutboxMessage>().Any(e => e.State == EntityState.Added))
        {
            _saving = true;
        }

        return ValueTask.FromResult(result);
    }

    public ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        if (_saving)
        {
            _saving = false;
            if (eventData.Context?.Database.CurrentTransaction is null)
            {
                signal.Notify();
            }
            else
            {
                _committing = true;
            }
        }

        return ValueTask.FromResult(result);
    }

    public Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        _saving = false;
        return Task.CompletedTask;
    }

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Committed();
        return Task.CompletedTask;
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Committed();

    public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        _committing = false;
        return Task.CompletedTask;
    }

    public void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => _committing = false;

    private void Committed()
    {
        if (_committing)
        {
            _committing = false;
            signal.Notify();
        }
    }

    // One interceptor per DbContext instance (created with its options), used by one request or message at a time.
    private bool _saving;
    private bool _committing;
}
