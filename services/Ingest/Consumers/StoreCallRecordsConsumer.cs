using System.Diagnostics.Metrics;
using CallLogs.Contracts;
using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Messaging;
using MassTransit;

namespace CallLogs.Ingest.Consumers;

/// <summary>Stores every accepted batch in the partitioned call_records table; a redelivered batch stores nothing twice.</summary>
public sealed class StoreCallRecordsConsumer(CallRecordStore store) : IConsumer<CallRecordsIngested>
{
    private static readonly Counter<long> Stored = Telemetry.Meter.CreateCounter<long>("calllogs.ingest.records_stored", description: "Call records written to the store");

    public async Task Consume(ConsumeContext<CallRecordsIngested> context)
    {
        var inserted = await store.StoreAsync(context.Message.AreaId, context.Message.Records, context.CancellationToken);
        Stored.Add(inserted);
    }
}

public sealed class StoreCallRecordsConsumerDefinition : RetryingConsumerDefinition<StoreCallRecordsConsumer>
{
    public StoreCallRecordsConsumerDefinition() => ConcurrentMessageLimit = 4;
}
