using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.Stream.Data;
using CallLogs.Stream.Subscriptions;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Stream.Consumers;

/// <summary>Every ingested batch to this instance's subscribers of its area (each instance has its own temporary queue).</summary>
public sealed class FanOutCallRecordsConsumer(SubscriberRegistry registry) : IConsumer<CallRecordsIngested>
{
    public Task Consume(ConsumeContext<CallRecordsIngested> context)
    {
        StreamMetrics.Received.Add(context.Message.Records.Count);
        registry.Publish(context.Message.AreaId, context.Message.Records);
        return Task.CompletedTask;
    }
}

/// <summary>Ingested batches are read in one pass (<see cref="EnvelopeDeserializer{T}"/>): less to collect, less latency per batch.</summary>
public sealed class FanOutCallRecordsConsumerDefinition : ConsumerDefinition<FanOutCallRecordsConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<FanOutCallRecordsConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseEnvelopeDeserializerOf<CallRecordsIngested>();
}

/// <summary>A token or channel was disabled somewhere: close this instance's subscriptions it covered.</summary>
public sealed class StreamAccessRevokedConsumer(SubscriberRegistry registry) : IConsumer<StreamAccessRevoked>
{
    public Task Consume(ConsumeContext<StreamAccessRevoked> context)
    {
        var revoked = context.Message;
        return registry.CloseAsync(s => s.ChannelId == revoked.ChannelId && (revoked.TokenId is null || s.TokenId == revoked.TokenId), revoked.Reason);
    }
}

/// <summary>A channel's masking changed somewhere: this instance's open subscriptions of the channel follow it.</summary>
public sealed class StreamChannelMaskingChangedConsumer(SubscriberRegistry registry) : IConsumer<StreamChannelMaskingChanged>
{
    public Task Consume(ConsumeContext<StreamChannelMaskingChanged> context)
    {
        registry.ApplyMasking(context.Message.ChannelId, context.Message.UnmaskedCharacters);
        return Task.CompletedTask;
    }
}

/// <summary>Keeps area names, for the default channel name.</summary>
public sealed class AreaCreatedConsumer(StreamDbContext db) : IConsumer<AreaCreated>
{
    public Task Consume(ConsumeContext<AreaCreated> context) => AreaNames.UpsertAsync(db, context.Message.AreaId, context.Message.Name, context.Message.CreatedAt);
}

public sealed class AreaRenamedConsumer(StreamDbContext db) : IConsumer<AreaRenamed>
{
    public Task Consume(ConsumeContext<AreaRenamed> context) => AreaNames.UpsertAsync(db, context.Message.AreaId, context.Message.Name, context.Message.UpdatedAt);
}

public sealed class AreaCreatedConsumerDefinition : RetryingConsumerDefinition<AreaCreatedConsumer>;

public sealed class AreaRenamedConsumerDefinition : RetryingConsumerDefinition<AreaRenamedConsumer>;

internal static class AreaNames
{
    /// <summary>Newest name wins; an older event arriving late changes nothing.</summary>
    public static async Task UpsertAsync(StreamDbContext db, Guid areaId, string name, DateTimeOffset at)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO areas (area_id, name, updated_at) VALUES ({areaId}, {name}, {at})
            ON CONFLICT (area_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at WHERE areas.updated_at <= excluded.updated_at
            """);
    }
}
