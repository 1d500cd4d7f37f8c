using CallLogs.Audit.Data;
using CallLogs.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Audit.Apis;

/// <summary>What operators watch of the platform trail, per area: events waiting for delivery, the last log file and the last digest.</summary>
public static class AuditOperationsApi
{
    public sealed record AreaDeliveryStatus(string Area, int EventsWaiting, DateTimeOffset? OldestWaitingEvent, double? DeliveryDelaySeconds,
        DateTimeOffset? LastFileUploadedAt, string? LastDigestKey, DateTimeOffset? LastDigestPeriodEnd);

    public static IEndpointRouteBuilder MapAuditOperationsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/ops/delivery", ListDeliveryStatus).WithName("ListAuditDeliveryStatus").WithTags("Operations")
            .RequireRoles(Roles.Operator, Roles.PlatformAdmin);
        return app;
    }

    public static async Task<Ok<List<AreaDeliveryStatus>>> ListDeliveryStatus(AuditDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var waiting = await db.Events.Where(e => e.LogFileId == null).GroupBy(e => e.AreaKey)
            .Select(g => new { Area = g.Key, Count = g.Count(), Oldest = g.Min(e => e.ReceivedAt) }).ToListAsync(cancellationToken);
        var files = await db.LogFiles.Where(f => f.TrailId == null && f.UploadedAt != null).GroupBy(f => f.AreaKey)
            .Select(g => new { Area = g.Key, Last = g.Max(f => f.UploadedAt) }).ToListAsync(cancellationToken);
        var digests = await db.Digests.Where(d => d.TrailId == null).GroupBy(d => d.AreaKey)
            .Select(g => g.OrderByDescending(d => d.PeriodEnd).Select(d => new { Area = d.AreaKey, d.Key, d.PeriodEnd }).First()).ToListAsync(cancellationToken);
        return TypedResults.Ok(waiting.Select(w => w.Area).Union(files.Select(f => f.Area)).Union(digests.Select(d => d.Area)).Order()
            .Select(area =>
            {
                var w = waiting.FirstOrDefault(x => x.Area == area);
                var f = files.FirstOrDefault(x => x.Area == area);
                var d = digests.FirstOrDefault(x => x.Area == area);
                return new AreaDeliveryStatus(area, w?.Count ?? 0, w?.Oldest, w is null ? null : Math.Max(0, (now - w.Oldest).TotalSeconds), f?.Last, d?.Key, d?.PeriodEnd);
            }).ToList());
    }
}
