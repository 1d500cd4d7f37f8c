using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CallLogs.ServiceDefaults.Outbox;

/// <summary>
/// Wakes the relay after a save that added outbox rows, so events leave at once instead of at the next poll.
/// A save inside a longer transaction wakes it early; the relay then finds nothing yet and the poll picks the
/// rows up. Saves without new outbox rows (the relay's own among them) wake nothing.
/// </summary>
public sealed class OutboxSaveChangesInterceptor(OutboxSignal signal) : SaveChangesInterceptor
{
    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        if (eventData.Context is { } context && context.ChangeTracker.Entries<OutboxMessage>().Any(e => e.State == EntityState.Added))
        {
            _pending.Add(context.ContextId.InstanceId);
        }

        return ValueTask.FromResult(result);
    }

    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is { } context && _pending.Remove(context.ContextId.InstanceId))
        {
            signal.Notify();
        }

        return ValueTask.FromResult(result);
    }

    public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is { } context)
        {
            _pending.Remove(context.ContextId.InstanceId);
        }

        return Task.CompletedTask;
    }

    // One interceptor per DbContext instance (created with its options), so no locking is needed.
    private readonly HashSet<Guid> _pending = [];
}
