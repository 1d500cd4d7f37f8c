using System.ComponentModel.DataAnnotations;

namespace CallLogs.Stream.Extensions;

public sealed class StreamOptions
{
    public const string SectionName = "Stream";

    [Range(1, 100)]
    public int MaxConnectionsPerChannel { get; set; } = 5;

    /// <summary>
    /// How often the server pings each WebSocket (and SignalR sends its keep-alive), so idle connections on quiet APIs
    /// stay open and a hung subscriber is noticed.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a WebSocket subscriber has to answer a ping (a SignalR client: to send anything, twice this) before the
    /// connection is closed and its place freed: with the defaults, a frozen subscriber's place is free within 30 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often this instance renews its connection leases and re-checks their tokens.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A lease not renewed for this long frees its place (a crashed client or instance).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan LeaseTimeToLive { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Records a subscriber may have waiting before new ones are dropped for it.</summary>
    [Range(1, 10_000_000)]
    public int MaxBufferedRecords { get; set; } = 20_000;

    /// <summary>Bytes of frames a subscriber may have waiting before new ones are dropped for it.</summary>
    [Range(64 * 1024, 1L << 32)]
    public long MaxBufferedBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Base of the subscribe URLs shown with tokens, e.g. wss://stream.example.com; default: the request's own host.</summary>
    public string? PublicBaseUrl { get; set; }
}
