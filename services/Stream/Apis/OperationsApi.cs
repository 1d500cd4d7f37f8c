using CallLogs.ServiceDefaults.Auth;
using CallLogs.Stream.Data;
using CallLogs.Stream.Subscriptions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Stream.Apis;

/// <summary>What operators watch: every channel with its live connections (all instances) and this instance's dropped records.</summary>
public static class OperationsApi
{
    public sealed record ChannelStatus(Guid AreaId, Guid ChannelId, string Name, string Status, bool HasEnabledToken, int LiveConnections,
        int ConnectionsOnThisInstance, long RecordsDroppedOnThisInstance);

    public static IEndpointRouteBuilder MapStreamOperationsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/ops/channels", ListChannelStatus).WithName("ListStreamChannelStatus").WithTags("Operations")
            .RequireRoles(Roles.Operator, Roles.PlatformAdmin);
        return app;
    }

    public static async Task<Ok<List<ChannelStatus>>> ListChannelStatus(StreamDbContext db, SubscriberRegistry registry, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var channels = await db.Channels.AsNoTracking().OrderBy(c => c.Name).Select(c => new
        {
            c.AreaId,
            c.Id,
            c.Name,
            c.Enabled,
            HasEnabledToken = db.AccessTokens.Any(t => t.ChannelId == c.Id && t.Enabled),
            Live = db.Leases.Count(l => l.ChannelId == c.Id && l.ExpiresAt > now),
        }).ToListAsync(cancellationToken);
        var local = registry.All.GroupBy(s => s.ChannelId).ToDictionary(g => g.Key, g => (Count: g.Count(), Dropped: g.Sum(s => s.MissedTotal)));
        return TypedResults.Ok(channels.Select(c => new ChannelStatus(c.AreaId, c.Id, c.Name, c.Enabled ? "enabled" : "disabled", c.HasEnabledToken, c.Live,
            local.GetValueOrDefault(c.Id).Count, local.GetValueOrDefault(c.Id).Dropped)).ToList());
    }
}
