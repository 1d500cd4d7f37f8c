using System.Net.Mime;
using System.Text.Json;
using MassTransit;
using MassTransit.Serialization;

namespace CallLogs.ServiceDefaults.Messaging;

/// <summary>
/// Reads MassTransit's JSON envelope of a <typeparamref name="T"/> in one pass, straight into the contract. MassTransit's
/// own deserializer parses the body into a JSON document, copies the envelope's <c>message</c> out into a second one and
/// reads the contract from that: for a batch of call records (up to 2 MB) three copies a message on the large object heap,
/// each counting towards a full garbage collection (docs/benchmarks.md, "Export"). The wire format is unchanged: a
/// message of another type, or one that does not read as <typeparamref name="T"/>, goes to MassTransit's deserializer,
/// which handles or refuses it as before.
/// </summary>
public sealed class EnvelopeDeserializer<T> : IMessageDeserializer, ISerializerFactory where T : class
{
    private static readonly string ContractUrn = MessageUrn.ForTypeString<T>();
    private static readonly SystemTextJsonMessageSerializer Standard = SystemTextJsonMessageSerializer.Instance;

    public ContentType ContentType => SystemTextJsonMessageSerializer.JsonContentType;

    public ConsumeContext Deserialize(ReceiveContext receiveContext) =>
        new BodyConsumeContext(receiveContext, Deserialize(receiveContext.Body, receiveContext.TransportHeaders, receiveContext.InputAddress));

    public SerializerContext Deserialize(MessageBody body, Headers headers, Uri? destinationAddress = null)
    {
        if (Read(body) is not { Message: not null } read || read.MessageType?.Contains(ContractUrn, StringComparer.Ordinal) != true)
        {
            return Standard.Deserialize(body, headers, destinationAddress);
        }

        var envelope = new JsonMessageEnvelope(read);
        return new SystemTextJsonSerializerContext(Standard, SystemTextJsonMessageSerializer.Options, ContentType,
            new EnvelopeMessageContext(envelope, Standard), read.MessageType, envelope, read.Message);
    }

    private static TypedEnvelope? Read(MessageBody body)
    {
        try
        {
            return JsonSerializer.Deserialize<TypedEnvelope>(body.GetBytes(), SystemTextJsonMessageSerializer.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public MessageBody GetMessageBody(string text) => Standard.GetMessageBody(text);

    public void Probe(ProbeContext context)
    {
        var scope = context.CreateScope("json");
        scope.Add("contentType", ContentType.MediaType);
        scope.Add("provider", "System.Text.Json, envelope of " + typeof(T).Name + " read in one pass");
    }

    IMessageSerializer ISerializerFactory.CreateSerializer() => Standard;

    IMessageDeserializer ISerializerFactory.CreateDeserializer() => this;

    /// <summary>MassTransit's envelope with its message read as the contract.</summary>
    private sealed class TypedEnvelope : MessageEnvelope
    {
        public string? MessageId { get; init; }
        public string? RequestId { get; init; }
        public string? CorrelationId { get; init; }
        public string? ConversationId { get; init; }
        public string? InitiatorId { get; init; }
        public string? SourceAddress { get; init; }
        public string? DestinationAddress { get; init; }
        public string? ResponseAddress { get; init; }
        public string? FaultAddress { get; init; }
        public string[]? MessageType { get; init; }
        public T? Message { get; init; }
        public DateTime? ExpirationTime { get; init; }
        public DateTime? SentTime { get; init; }
        public Dictionary<string, object?>? Headers { get; init; }
        public HostInfo? Host { get; init; }

        object? MessageEnvelope.Message => Message;
    }
}

public static class EnvelopeDeserializerExtensions
{
    /// <summary>Messages of this endpoint in MassTransit's JSON envelope are read in one pass as <typeparamref name="T"/> (<see cref="EnvelopeDeserializer{T}"/>).</summary>
    public static void UseEnvelopeDeserializerOf<T>(this IReceiveEndpointConfigurator endpoint) where T : class =>
        endpoint.AddDeserializer(new EnvelopeDeserializer<T>(), isDefault: true);
}
