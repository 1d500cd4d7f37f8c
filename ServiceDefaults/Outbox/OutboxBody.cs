using System.Text.Json;

namespace CallLogs.ServiceDefaults.Outbox;

/// <summary>
/// An event serialised as the outbox stores it, ahead of <c>AddOutboxMessage</c>: a large event can be serialised on
/// another thread while the database is still busy with the change it describes.
/// </summary>
public sealed record OutboxBody<T>(string Json) where T : class
{
    public static OutboxBody<T> Of(T message) => new(JsonSerializer.Serialize(message, OutboxExtensions.Json));
}
