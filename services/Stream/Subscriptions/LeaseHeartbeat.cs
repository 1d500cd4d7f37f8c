using CallLogs.ServiceDefaults.Background;
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
    TimeProvider clock, ILogger<LeaseHeartbeat> logger) : PeriodicWorker(clock, logger)
{
    private DateTimeOffset _lastRenewed = clock.GetUtcNow();

    protected override bool RunsAtStart => false;

    /// <summary>Beats keep their pace: the time a beat took comes off the wait after it.</summary>
    protected override TimeSpan NextWait(DateTimeOffset lastStarted) => lastStarted + options.Value.HeartbeatInterval - Clock.GetUtcNow();

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        // A beat never outlasts half a lease: a database that does not answer must not delay the check below.
        using var beat = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        beat.CancelAfter(options.Value.LeaseTimeToLive / 2);
        await BeatAsync(beat.Token);
        _lastRenewed = Clock.GetUtcNow();
    }

    /// <summary>
    /// Leases not renewed for their time to live may have been deleted and taken by other instances: this instance's
    /// subscriptions then hold places it can no longer prove, so they are closed (clients reconnect), and the limit per
    /// channel holds across instances even through a database outage.
    /// </summary>
    protected override async Task OnFailedAsync()
    {
        if (Clock.GetUtcNow() - _lastRenewed >= options.Value.LeaseTimeToLive && registry.All.Count > 0)
        {
            LogPlacesLost(Logger, registry.All.Count);
            await registry.CloseAsync(_ => true, "The stream lost its connection to its database, so this subscription's place could not be kept. Reconnect.");
        }
    }

    private async Task BeatAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<StreamDbContext>();
        var now = Clock.GetUtcNow();
        var local = registry.All;
        if (local.Count > 0)
        {
            // Renew only leases still live; a lapsed one may already count for someone else and must be taken again.
            var leases = local.Select(s => s.LeaseId).ToList();
            var live = (await db.Leases.Where(l => leases.Contains(l.Id) && l.ExpiresAt > now).Select(l => l.Id).ToListAsync(cancellationToken)).ToHashSet();
            await db.Leases.Where(l => live.Contains(l.Id))
                .ExecuteUpdateAsync(u => u.SetProperty(l => l.ExpiresAt, now + options.Value.LeaseTimeToLive), cancellationToken);
            var gate = scope.ServiceProvider.GetRequiredService<SubscriptionGate>();
            foreach (var lapsed in local.Where(s => !live.Contains(s.LeaseId) && !s.Closed.IsCancellationRequested))
            {
                if (!await gate.ReadmitAsync(lapsed, cancellationToken))
                {
                    await lapsed.CloseAsync("This subscription's place lapsed while the stream could not reach its database, and the channel's places are taken now. Reconnect later.");
                }
            }

            var tokens = local.Select(s => s.TokenId).Distinct().ToList();
            var allowed = await db.AccessTokens.Where(t => tokens.Contains(t.Id) && t.Enabled)
                .Join(db.Channels.Where(c => c.Enabled), t => t.ChannelId, c => c.Id, (t, c) => t.Id)
                .ToListAsync(cancellationToken);
            // Only the subscriptions whose tokens were looked up: one admitted meanwhile, with a token not among them, is not "disabled".
            await Task.WhenAll(local.Where(s => !allowed.Contains(s.TokenId)).Select(s => s.CloseAsync("The access token or the channel was disabled.")));

            // Masking as stored, should a change event have been missed.
            var channels = local.Select(s => s.ChannelId).Distinct().ToList();
            foreach (var channel in await db.Channels.Where(c => channels.Contains(c.Id)).Select(c => new { c.Id, c.MaskSensitiveData, c.UnmaskedCharacters }).ToListAsync(cancellationToken))
            {
                registry.ApplyMasking(channel.Id, channel.MaskSensitiveData ? channel.UnmaskedCharacters : null);
            }
        }

        await db.Leases.Where(l => l.ExpiresAt < now).ExecuteDeleteAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream lost its database for longer than a lease lives; closing {Count} subscriptions whose places may be taken")]
    private static partial void LogPlacesLost(ILogger logger, int count);
}
