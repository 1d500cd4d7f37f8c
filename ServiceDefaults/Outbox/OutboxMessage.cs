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

    /// <summary>
    /// When the relay gave up on the row: its type is no contract, its body does not read as that contract, or the
    /// broker kept refusing it while it took the rows after it. The relay passes over a parked row; operators see it
    /// (an error in the log, <c>calllogs.outbox.parked</c>) and put it back by setting this to null.
    /// </summary>
    public DateTimeOffset? ParkedAt { get; set; }
}
