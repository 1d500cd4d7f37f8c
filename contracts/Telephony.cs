namespace CallLogs.Contracts;

/// <summary>A telephony call log was generated from CEL events.</summary>
public sealed record CallLogCreated
{
    public required long CallLogId { get; init; }
    public required Guid AreaId { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? AnsweredAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public required string Direction { get; init; }
    public string? SourceExtension { get; init; }
    public string? DestinationExtension { get; init; }
    public required IReadOnlyList<string> Tags { get; init; }
    public required string ConversationId { get; init; }
}
