namespace CallLogs.Contracts;

/// <summary>A stream token or channel was disabled: every stream instance closes the subscriptions it no longer allows.</summary>
public sealed record StreamAccessRevoked
{
    public required Guid AreaId { get; init; }
    public required Guid ChannelId { get; init; }
    /// <summary>The token disabled; null when the whole channel was disabled.</summary>
    public Guid? TokenId { get; init; }
    public required string Reason { get; init; }
}

/// <summary>A stream channel's masking changed: every stream instance applies it to the channel's open subscriptions at once.</summary>
public sealed record StreamChannelMaskingChanged
{
    public required Guid AreaId { get; init; }
    public required Guid ChannelId { get; init; }
    /// <summary>Characters kept at each end of api_key and oauth_access_token; null when the channel no longer masks.</summary>
    public int? UnmaskedCharacters { get; init; }
    public required DateTimeOffset ChangedAt { get; init; }
}
