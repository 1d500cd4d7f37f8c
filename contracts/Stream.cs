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
