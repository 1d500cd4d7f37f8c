using System.ComponentModel.DataAnnotations;

namespace CallLogs.Stream.Extensions;

public sealed class StreamOptions
{
    public const string SectionName = "Stream";

    [Range(1, 100)]
    public int MaxConnectionsPerChannel { get; set; } = 5;

    /// <summary>WebSocket ping interval (and SignalR keep-alive), so idle connections on quiet APIs stay open.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often this instance renews its connection leases and re-checks their tokens.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A lease not renewed for this long frees its place (a crashed client or instance).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan LeaseTimeToLive { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Records a subscriber may have waiting before new ones are dropped for it.</summary>
    [Range(1, 10_000_000)]
    public int MaxBufferedRecords { get; set; } = 20_000;

    /// <summary>Base of the subscribe URLs shown with tokens, e.g. wss://stream.example.com; default: the request's own host.</summary>
    public string? PublicBaseUrl { get; set; }
}
