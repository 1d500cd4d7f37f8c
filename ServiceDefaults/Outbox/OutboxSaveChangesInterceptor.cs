using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CallLogs.ServiceDefaults.Outbox;

/// <summary>
/// Wakes the relay after every save, so events leave at once instead of at the next poll. A save inside a
/// longer transaction wakes it early; the relay then finds nothing yet and the poll picks the rows up.
/// </summary>
public sealed class OutboxSaveChangesInterceptor(OutboxSignal signal) : SaveChangesInterceptor
{
    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        signal.Notify();
        return ValueTask.FromResult(result);
    }
}
