using CallLogs.Contracts;
using Npgsql;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>Where a service keeps the events it captures until they are published: its outbox.</summary>
public interface IAuditEventWriter
{
    /// <summary>Writes the event in <paramref name="transaction"/> (committed by its owner), or on its own when none is given.</summary>
    Task WriteAsync(AuditEventRecorded auditEvent, NpgsqlTransaction? transaction, CancellationToken cancellationToken);
}
