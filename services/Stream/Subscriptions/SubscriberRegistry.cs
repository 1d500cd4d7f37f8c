using System.Collections.Concurrent;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Secrets;
using CallLogs.Stream.Domain;

namespace CallLogs.Stream.Subscriptions;

/// <summary>
/// The subscriptions this instance serves, and the fan-out of every ingested batch to those of its area: its records'
/// sealed secrets opened (<see cref="SecretSeal"/>) once a subscriber of the area is found, then one frame per masking.
/// </summary>
public sealed class SubscriberRegistry(SecretSeal seal)
{
    private readonly ConcurrentDictionary<Guid, Subscriber> _subscribers = new();

    public string InstanceId { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    public IReadOnlyCollection<Subscriber> All => [.. _subscribers.Values];

    public void Add(Subscriber subscriber) => _subscribers[subscriber.LeaseId] = subscriber;

    public void Remove(Guid leaseId) => _subscribers.TryRemove(leaseId, out _);

    public void Publish(Guid areaId, IReadOnlyList<CallRecord> records)
    {
        var frames = new Dictionary<int, string>();
        IReadOnlyList<CallRecord>? opened = null;
        foreach (var subscriber in _subscribers.Values)
        {
            if (subscriber.AreaId != areaId)
            {
                continue;
            }

            var key = subscriber.MaskKeep ?? -1;
            if (!frames.TryGetValue(key, out var frame))
            {
                opened ??= records.Select(seal.Open).ToList();
                frames[key] = frame = Frames.Data(opened, subscriber.MaskKeep);
            }

            subscriber.Offer(frame, records);
        }
    }

    /// <summary>A channel's masking changed: its open subscriptions get the new setting for every record from now on.</summary>
    public void ApplyMasking(Guid channelId, int? maskKeep)
    {
        foreach (var subscriber in _subscribers.Values.Where(s => s.ChannelId == channelId))
        {
            subscriber.MaskKeep = maskKeep;
        }
    }

    public Task CloseAsync(Func<Subscriber, bool> which, string reason) =>
        Task.WhenAll(_subscribers.Values.Where(which).Select(s => s.CloseAsync(reason)));
}
