using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace CallLogs.ServiceDefaults.Audit;

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
