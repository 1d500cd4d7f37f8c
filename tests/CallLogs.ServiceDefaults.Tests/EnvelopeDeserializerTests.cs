using System.Runtime.Serialization;
using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Messaging;
using MassTransit;
using MassTransit.Metadata;
using MassTransit.Serialization;

namespace CallLogs.ServiceDefaults.Tests;

/// <summary>
/// The one-pass reader of an envelope gives consumers what MassTransit's own deserializer gives them, for the bodies
/// MassTransit writes, and hands every other body to MassTransit's deserializer.
/// </summary>
public sealed class EnvelopeDeserializerTests
{
    private static readonly EnvelopeDeserializer<CallRecordsIngested> OnePass = new();
    private static readonly SystemTextJsonMessageSerializer Standard = SystemTextJsonMessageSerializer.Instance;

    [Fact]
    public void An_ingested_batch_reads_as_MassTransit_reads_it_message_and_envelope()
    {
        var batch = new CallRecordsIngested
        {
            BatchId = Guid.NewGuid(),
            AreaId = Guid.NewGuid(),
            AcceptedAt = DateTimeOffset.Parse("2026-12-03T09:00:00.1234567+00:00"),
            Records =
            [
                new CallRecord { RequestUuid = "a", RequestTime = DateTimeOffset.Parse("2026-12-03T08:59:59Z"), ApiKey = "k\u00e9y\"\\", HttpStatusCode = 200, Bytes = 12, CacheHit = true, ConnectTime = 0.25, IngestionTime = 1_764_752_400_000 },
                new CallRecord
                {
                    RequestUuid = "b", RequestTime = DateTimeOffset.Parse("2026-12-03T08:00:00.5+02:00"), Uri = "/x?y=\u2028",
                    Extra = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("""{"nested":{"a":[1,2,{"b":null}]},"n":1e3,"s":"\u0001"}"""),
                },
            ],
        };
        var body = Body(batch, headers: new() { ["x-tenant"] = "t", ["x-count"] = 3 });

        var expected = Standard.Deserialize(body, EmptyHeaders.Instance);
        var actual = OnePass.Deserialize(body, EmptyHeaders.Instance);

        Assert.True(expected.TryGetMessage<CallRecordsIngested>(out var expectedMessage));
        Assert.True(actual.TryGetMessage<CallRecordsIngested>(out var actualMessage));
        Assert.Equal(JsonSerializer.Serialize(expectedMessage), JsonSerializer.Serialize(actualMessage));
        Assert.Equal(JsonSerializer.Serialize(batch), JsonSerializer.Serialize(actualMessage));
        Assert.Equal(expected.MessageId, actual.MessageId);
        Assert.Equal(expected.ConversationId, actual.ConversationId);
        Assert.Equal(expected.CorrelationId, actual.CorrelationId);
        Assert.Equal(expected.SourceAddress, actual.SourceAddress);
        Assert.Equal(expected.DestinationAddress, actual.DestinationAddress);
        Assert.Equal(expected.SentTime, actual.SentTime);
        Assert.Equal(expected.SupportedMessageTypes, actual.SupportedMessageTypes);
        Assert.Equal(expected.Host.MachineName, actual.Host.MachineName);
        Assert.Equal(expected.Headers.Get<string>("x-tenant"), actual.Headers.Get<string>("x-tenant"));
        Assert.Equal(expected.Headers.Get<int>("x-count"), actual.Headers.Get<int>("x-count"));
        Assert.Equal(3, actual.Headers.Get<int>("X-COUNT")); // header names are not case-sensitive, as in MassTransit's envelope
        Assert.True(actual.IsSupportedMessageType<CallRecordsIngested>());
    }

    [Fact]
    public void A_message_of_another_type_is_read_by_MassTransits_deserializer()
    {
        var created = new AreaCreated { AreaId = Guid.NewGuid(), Name = "north", CreatedAt = DateTimeOffset.UtcNow };

        var context = OnePass.Deserialize(Body(created), EmptyHeaders.Instance);

        Assert.True(context.TryGetMessage<AreaCreated>(out var message));
        Assert.Equal(created, message);
        Assert.False(context.IsSupportedMessageType<CallRecordsIngested>());
    }

    [Fact]
    public void A_message_of_another_type_in_the_same_shape_is_read_as_that_type()
    {
        var copy = new SameShape { BatchId = Guid.NewGuid(), AreaId = Guid.NewGuid(), AcceptedAt = DateTimeOffset.UtcNow, Records = [] };

        var context = OnePass.Deserialize(Body(copy), EmptyHeaders.Instance);

        Assert.True(context.TryGetMessage<SameShape>(out var message));
        Assert.Equal(copy.BatchId, message!.BatchId);
        Assert.False(context.TryGetMessage<CallRecordsIngested>(out _));
    }

    /// <summary>Another contract that a <see cref="CallRecordsIngested"/> reader would take for one.</summary>
    public sealed record SameShape
    {
        public required Guid BatchId { get; init; }
        public required Guid AreaId { get; init; }
        public required DateTimeOffset AcceptedAt { get; init; }
        public required IReadOnlyList<CallRecord> Records { get; init; }
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"messageType":["urn:message:CallLogs.Contracts:CallRecordsIngested"],"message":{"batchId":"not a guid"}}""")]
    [InlineData("""{"messageType":["urn:message:CallLogs.Contracts:CallRecordsIngested"],"message":{"batchId":"4a0c4a5e-4c1f-4a43-9c55-39b3f0a2d1f1"}}""")]
    [InlineData("""{"messageType":["urn:message:CallLogs.Contracts:CallRecordsIngested"],"message":{"records":[{"request_uuid":"a","request_time":"2026"}]}}""")]
    public void A_body_that_does_not_read_as_the_contract_fails_as_it_does_in_MassTransit(string json)
    {
        var body = new BytesMessageBody(Encoding.UTF8.GetBytes(json));

        var expected = Outcome(() => Standard.Deserialize(body, EmptyHeaders.Instance));
        var actual = Outcome(() => OnePass.Deserialize(body, EmptyHeaders.Instance));

        Assert.Equal(expected, actual);
        Assert.NotEqual("read", actual);
    }

    private static string Outcome(Func<SerializerContext> deserialize)
    {
        try
        {
            return deserialize().TryGetMessage<CallRecordsIngested>(out _) ? "read" : "not read";
        }
        catch (SerializationException e)
        {
            return e.GetType().Name;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return e.GetType().Name;
        }
    }

    /// <summary>The body MassTransit's serializer writes for <paramref name="message"/> (<c>SystemTextJsonMessageBody</c>).</summary>
    private static BytesMessageBody Body<T>(T message, Dictionary<string, object?>? headers = null) where T : class =>
        new(JsonSerializer.SerializeToUtf8Bytes(new JsonMessageEnvelope
        {
            MessageId = NewId.NextGuid().ToString(),
            ConversationId = NewId.NextGuid().ToString(),
            CorrelationId = NewId.NextGuid().ToString(),
            SourceAddress = "rabbitmq://localhost/ingest",
            DestinationAddress = "rabbitmq://localhost/CallLogs.Contracts:CallRecordsIngested",
            MessageType = [MessageUrn.ForTypeString<T>()],
            Message = message,
            SentTime = DateTime.UtcNow,
            Headers = headers ?? [],
            Host = HostMetadataCache.Host,
        }, SystemTextJsonMessageSerializer.Options));
}
