using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Auth;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallLogs.Ingest.Apis;

public static class CallRecordsApi
{
    private static readonly System.Diagnostics.Metrics.Counter<long> Accepted = CallLogs.ServiceDefaults.Telemetry.Meter.CreateCounter<long>(
        "calllogs.ingest.records_accepted", description: "Call records accepted (durable in the broker)");

    public static IEndpointRouteBuilder MapCallRecordsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/areas/{areaId:guid}/call-records").WithTags("Call records");
        api.MapPost("/", IngestCallRecords).RequireAreaRole(Roles.Ingest);
        return app;
    }

    public sealed record IngestResult(int Accepted);

    private static async Task<Ok<IngestResult>> IngestCallRecords(Guid areaId, List<CallRecord> records,
        IPublishEndpoint publish, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var stamped = records.Select(r => r with { IngestionTime = now.ToUnixTimeMilliseconds() }).ToList();
        await publish.Publish(new CallRecordsIngested
        {
            BatchId = Guid.NewGuid(),
            AreaId = areaId,
            AcceptedAt = now,
            Records = stamped,
        }, cancellationToken);
        Accepted.Add(stamped.Count);
        return TypedResults.Ok(new IngestResult(stamped.Count));
    }
}
