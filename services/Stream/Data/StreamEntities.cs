namespace CallLogs.Stream.Data;

/// <summary>The one live channel of an area.</summary>
public sealed class Channel
{
    public Guid Id { get; set; }
    public Guid AreaId { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public bool Enabled { get; set; } = true;
    public bool MaskSensitiveData { get; set; }
    public int UnmaskedCharacters { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A channel's access token; only the SHA-256 of its secret is kept.</summary>
public sealed class AccessToken
{
    public Guid Id { get; set; }
    public Guid ChannelId { get; set; }
    public required string SecretHash { get; set; }
    public bool Enabled { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One live subscription, held by the instance serving it; it lapses unless renewed (heartbeat).</summary>
public sealed class ConnectionLease
{
    public Guid Id { get; set; }
    public Guid ChannelId { get; set; }
    public Guid TokenId { get; set; }
    public required string InstanceId { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>An area's name as the profile service announced it (for the default channel name).</summary>
public sealed class KnownArea
{
    public Guid AreaId { get; set; }
    public required string Name { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
