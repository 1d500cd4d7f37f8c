using CallLogs.Stream.Data;
using CallLogs.Stream.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Stream.Subscriptions;

/// <summary>
/// Renews the leases of this instance's subscriptions, closes those whose token or channel was disabled (a backstop
/// for the revocation event), and removes lapsed leases of crashed clients or instances.
/// </summary>
public sealed partial class LeaseHeartbeat(IServiceScopeFactory scopes, SubscriberRegistry registry, IOptions<StreamOptions> options,
    TimeProvider clock, ILogger<LeaseHeartbeat> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await BeatAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex);
            }
        }
    }

    private async Task BeatAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<StreamDbContext>();
        var now = clock.GetUtcNow();
        var local = registry.All;
        if (local.Count > 0)
        {
            var leases = local.Select(s => s.LeaseId).ToList();
            await db.Leases.Where(l => leases.Contains(l.Id))
                .ExecuteUpdateAsync(u => u.SetProperty(l => l.ExpiresAt, now + options.Value.LeaseTimeToLive), cancellationToken);

            var tokens = local.Select(s => s.TokenId).Distinct().ToList();
            var allowed = await db.AccessTokens.Where(t => tokens.Contains(t.Id) && t.Enabled)
                .Join(db.Channels.Where(c => c.Enabled), t => t.ChannelId, c => c.Id, (t, c) => t.Id)
                .ToListAsync(cancellationToken);
            await registry.CloseAsync(s => !allowed.Contains(s.TokenId), "The access token or the channel was disabled.");
        }

        await db.Leases.Where(l => l.ExpiresAt < now).ExecuteDeleteAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream lease heartbeat failed; retrying")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
