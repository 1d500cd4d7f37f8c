using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// Writes one audit event to the outbox of <typeparamref name="TContext"/> in a DbContext of its own, so a
/// handler's unsaved or failed changes never ride along and a failed handler's event is still kept.
/// </summary>
internal sealed class OutboxAuditEventWriter<TContext>(IServiceScopeFactory scopes, TimeProvider clock) : IAuditEventWriter
    where TContext : DbContext
{
    public async Task WriteAsync(AuditEventRecorded auditEvent, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        db.AddOutboxMessage(auditEvent, clock);
        await db.SaveChangesAsync(cancellationToken);
    }
}
