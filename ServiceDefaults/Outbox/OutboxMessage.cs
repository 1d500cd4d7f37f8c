namespace CallLogs.ServiceDefaults.Outbox;

/// <summary>
/// An event written in the same transaction as the change it describes; the relay publishes it and
/// marks it published. <see cref="MessageId"/> is the MassTransit message id, so a repeat is recognisable.
/// </summary>
public sealed class OutboxMessage
{
    public long Id { get; set; }
    public Guid MessageId { get; set; }
    public required string MessageType { get; set; }
    public required string Body { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? PublishedAt { get; set; }
    public int Attempts { get; set; }
    public string? LastError { get; set; }
}
