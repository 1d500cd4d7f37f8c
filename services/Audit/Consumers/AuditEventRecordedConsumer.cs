using System.Diagnostics.Metrics;
using CallLogs.Audit.Data;
using CallLogs.Audit.Domain;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Audit.Consumers;

/// <summary>
/// Stores each event once: <c>eventID</c> is the key, and a repeat (outbox retry, redelivery) changes nothing.
/// An event goes to the trail of its area only when that area is known (created through the profile service) or the
/// caller's own token is for it; otherwise to the platform trail, so no event can make up an area. An event of an area
/// whose own trail is logging is marked for that trail too.
/// </summary>
public sealed class AuditEventRecordedConsumer(AuditDbContext db, TimeProvider clock) : IConsumer<AuditEventRecorded>
{
    private static readonly Counter<long> Stored = Telemetry.Meter.CreateCounter<long>("calllogs.audit.events_stored", description: "Audit events stored");
    private static readonly Counter<long> Duplicates = Telemetry.Meter.CreateCounter<long>("calllogs.audit.events_duplicate", description: "Audit events received again and ignored");

    public async Task Consume(ConsumeContext<AuditEventRecorded> context)
    {
        var e = context.Message;
        var now = clock.GetUtcNow();
        var ownArea = e.RecipientAreaId is { } recipient && e.UserIdentity.AreaId == recipient;
        var areaKey = AreaKeys.Platform;
        if (e.RecipientAreaId is { } area
            && (ownArea || await db.Areas.AnyAsync(a => a.AreaKey == AreaKeys.Of(area), context.CancellationToken)))
        {
            areaKey = AreaKeys.Of(area);
        }

        var trailArea = areaKey == AreaKeys.Platform ? (Guid?)null : e.RecipientAreaId;
        var record = AuditRecords.ToRecord(e, areaKey).ToJsonString(AuditRecords.Json);
        var (types, names) = AuditRecords.LookupKeys(e, areaKey);

        await using var transaction = await db.Database.BeginTransactionAsync(context.CancellationToken);
        if (ownArea)
        {
            // The token was issued for this area: the area exists, and gets its hourly digests from now on.
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"INSERT INTO audit_areas (area_key, first_seen) VALUES ({areaKey}, {now}) ON CONFLICT (area_key) DO NOTHING",
                context.CancellationToken);
        }

        var inserted = await db.Database.ExecuteSqlInterpolatedAsync($"""
            INSERT INTO audit_events (event_id, event_time, area_key, area_id, event_source, event_name, user_name, access_key_id,
                                      read_only, resource_types, resource_names, record, received_at, area_trail_id)
            VALUES ({e.EventId}, {e.EventTime}, {areaKey}, {e.RecipientAreaId}, {e.EventSource}, {e.EventName}, {e.UserIdentity.UserName},
                    {e.UserIdentity.AccessKeyId}, {e.ReadOnly}, {types}, {names}, {record}::json, {now},
                    (SELECT id FROM audit_area_trails WHERE area_id = {trailArea} AND is_logging))
            ON CONFLICT (event_id) DO NOTHING
            """, context.CancellationToken);
        await transaction.CommitAsync(context.CancellationToken);
        (inserted == 1 ? Stored : Duplicates).Add(1);
    }
}

public sealed class AuditEventRecordedConsumerDefinition : RetryingConsumerDefinition<AuditEventRecordedConsumer>;

/// <summary>A new area gets its hourly digests from its creation on, also while nothing happens in it.</summary>
public sealed class AreaCreatedConsumer(AuditDbContext db) : IConsumer<AreaCreated>
{
    public async Task Consume(ConsumeContext<AreaCreated> context) =>
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"INSERT INTO audit_areas (area_key, first_seen) VALUES ({AreaKeys.Of(context.Message.AreaId)}, {context.Message.CreatedAt}) ON CONFLICT (area_key) DO NOTHING",
            context.CancellationToken);
}

public sealed class AreaCreatedConsumerDefinition : RetryingConsumerDefinition<AreaCreatedConsumer>;
