using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Outbox;
using Npgsql;
using NpgsqlTypes;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// Writes an audit event into the service's outbox table: inside the request's transaction when the call may change
/// something (so the event commits with the change), else in a statement of its own.
/// </summary>
internal sealed class OutboxAuditEventWriter(NpgsqlDataSource dataSource, OutboxSignal signal, TimeProvider clock) : IAuditEventWriter
{
    private const string Insert = """
        INSERT INTO outbox_messages (message_id, message_type, body, created_at, attempts)
        VALUES (@id, @type, @body, @created, 0)
        """;

    public async Task WriteAsync(AuditEventRecorded auditEvent, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var body = OutboxBody<AuditEventRecorded>.Of(auditEvent).Json;
        if (transaction is not null)
        {
            await InsertAsync(transaction.Connection!, transaction, body, cancellationToken);
            return;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await InsertAsync(connection, null, body, cancellationToken);
        signal.Notify();
    }

    private async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string body, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(Insert, connection, transaction);
        command.Parameters.AddWithValue("id", Guid.NewGuid());
        command.Parameters.AddWithValue("type", typeof(AuditEventRecorded).FullName!);
        command.Parameters.AddWithValue("body", NpgsqlDbType.Text, body);
        command.Parameters.AddWithValue("created", clock.GetUtcNow());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
