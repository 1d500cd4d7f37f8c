using System.Diagnostics.Metrics;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Messaging;
using MassTransit;

namespace CallLogs.Export.Consumers;

public sealed class CallRecordsIngestedConsumer : IConsumer<CallRecordsIngested>
{
    private static readonly Counter<long> Received = Telemetry.Meter.CreateCounter<long>(
        "calllogs.export.records_received", description: "Call records received from the ingest service");

    public Task Consume(ConsumeContext<CallRecordsIngested> context)
    {
        Received.Add(context.Message.Records.Count);
        return Task.CompletedTask;
    }
}

public sealed class CallRecordsIngestedConsumerDefinition : RetryingConsumerDefinition<CallRecordsIngestedConsumer>;
