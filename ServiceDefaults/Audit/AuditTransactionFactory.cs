using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>EF Core's transaction factory, which wraps a begin answered by <see cref="AuditTransactionInterceptor"/> in a savepoint.</summary>
internal sealed class AuditTransactionFactory(RelationalTransactionFactoryDependencies dependencies) : RelationalTransactionFactory(dependencies)
{
    public override RelationalTransaction Create(IRelationalConnection connection, DbTransaction transaction, Guid transactionId,
        IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger, bool transactionOwned) =>
        transactionOwned && AuditTransactionInterceptor.Savepoints.TryRemove(transactionId, out var savepoint)
            ? new SavepointTransaction(connection, transaction, transactionId, logger, Dependencies.SqlGenerationHelper, savepoint)
            : base.Create(connection, transaction, transactionId, logger, transactionOwned);
}
