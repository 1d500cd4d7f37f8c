using System.Security.Cryptography;
using System.Text;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.Stream.Data;
using CallLogs.Stream.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CallLogs.Stream.Subscriptions;

public sealed record Admission(Channel Channel, AccessToken Token, Guid LeaseId);

public sealed record Refusal(int Status, string Title, string Detail)
{
    public ProblemException ToException() => new(Status, Title, Detail);
}

/// <summary>
/// Who may subscribe: an enabled channel of the area and its enabled token; and how many: places are leases in
/// PostgreSQL, counted under a lock on the channel row, so the limit holds across every stream instance.
/// </summary>
public sealed class SubscriptionGate(StreamDbContext db, SubscriberRegistry registry, IOptions<StreamOptions> options, TimeProvider clock)
{
    public static string Hash(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret))).ToLowerInvariant();

    /// <summary>
    /// Admits a subscription and takes its place (a lease), or says why not. With <paramref name="reserve"/> false it only
    /// checks (for a SignalR negotiate: the place is taken when the connection itself comes).
    /// </summary>
    public async Task<(Admission? Admission, Refusal? Refusal)> AdmitAsync(Guid areaId, Guid channelId, string? key, CancellationToken cancellationToken,
        bool reserve = true)
    {
        if (string.IsNullOrEmpty(key))
        {
            return (null, new Refusal(401, "The access token is missing.", "Add ?key=<token> from the channel's access tokens to the URL."));
        }

        var hash = Hash(key);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var channel = await db.Channels.FromSql($"SELECT * FROM channels WHERE id = {channelId} AND area_id = {areaId} FOR UPDATE")
            .FirstOrDefaultAsync(cancellationToken);
        var token = channel is null ? null : await db.AccessTokens.FirstOrDefaultAsync(t => t.ChannelId == channelId && t.SecretHash == hash, cancellationToken);
        if (channel is null || token is null)
        {
            return (null, new Refusal(401, "The access token is not valid for this channel.", "Check the area id, channel id and key of the subscribe URL."));
        }

        if (!channel.Enabled)
        {
            return (null, new Refusal(403, "The channel is disabled.", "An area admin must enable the channel before anyone can subscribe."));
        }

        if (!token.Enabled)
        {
            return (null, new Refusal(403, "The access token is disabled.", "Use the channel's enabled token; an area admin can enable one or make a new one."));
        }

        var now = clock.GetUtcNow();
        var live = await db.Leases.CountAsync(l => l.ChannelId == channelId && l.ExpiresAt > now, cancellationToken);
        if (live >= options.Value.MaxConnectionsPerChannel)
        {
            return (null, new Refusal(429, "The channel has no free connection.",
                $"A channel takes at most {options.Value.MaxConnectionsPerChannel} concurrent connections and all are in use. Close one, or wait: a connection that died frees its place within {options.Value.LeaseTimeToLive.TotalSeconds:0} seconds."));
        }

        if (!reserve)
        {
            return (new Admission(channel, token, Guid.Empty), null);
        }

        var lease = new ConnectionLease
        {
            Id = Guid.NewGuid(),
            ChannelId = channelId,
            TokenId = token.Id,
            InstanceId = registry.InstanceId,
            CreatedAt = now,
            ExpiresAt = now + options.Value.LeaseTimeToLive,
        };
        db.Leases.Add(lease);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (new Admission(channel, token, lease.Id), null);
    }

    /// <summary>
    /// Takes a place again for an open subscription whose lease lapsed (this instance could not renew it, e.g. while the
    /// database was unreachable): under the channel's lock, only if the channel and token are still enabled and a place
    /// is free. False: the subscription must be closed, others may hold every place now.
    /// </summary>
    public async Task<bool> ReadmitAsync(Subscriber subscriber, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var channel = await db.Channels.FromSql($"SELECT * FROM channels WHERE id = {subscriber.ChannelId} FOR UPDATE").FirstOrDefaultAsync(cancellationToken);
        var now = clock.GetUtcNow();
        if (channel is not { Enabled: true }
            || !await db.AccessTokens.AnyAsync(t => t.Id == subscriber.TokenId && t.Enabled, cancellationToken)
            || await db.Leases.CountAsync(l => l.ChannelId == subscriber.ChannelId && l.ExpiresAt > now && l.Id != subscriber.LeaseId, cancellationToken)
                >= options.Value.MaxConnectionsPerChannel)
        {
            return false;
        }

        await db.Leases.Where(l => l.Id == subscriber.LeaseId).ExecuteDeleteAsync(cancellationToken);
        db.Leases.Add(new ConnectionLease
        {
            Id = subscriber.LeaseId,
            ChannelId = subscriber.ChannelId,
            TokenId = subscriber.TokenId,
            InstanceId = registry.InstanceId,
            CreatedAt = now,
            ExpiresAt = now + options.Value.LeaseTimeToLive,
        });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task ReleaseAsync(Guid leaseId)
    {
        await db.Leases.Where(l => l.Id == leaseId).ExecuteDeleteAsync();
    }
}
