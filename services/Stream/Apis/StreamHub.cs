using CallLogs.Stream.Extensions;
using CallLogs.Stream.Subscriptions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace CallLogs.Stream.Apis;

/// <summary>
/// The SignalR side for .NET and browser clients: connect to <c>/ecls/hub?areaId=&amp;channelId=&amp;key=</c>, receive
/// <c>records</c> (the same frame text as the WebSocket endpoint) and <c>closed</c> (a reason) messages.
/// </summary>
public sealed class StreamHub(SubscriptionGate gate, SubscriberRegistry registry, IHubContext<StreamHub> hub, IOptions<StreamOptions> options) : Hub
{
    public const string Path = "/ecls/hub";

    public override async Task OnConnectedAsync()
    {
        var query = Context.GetHttpContext()!.Request.Query;
        if (!Guid.TryParse(query["areaId"], out var areaId) || !Guid.TryParse(query["channelId"], out var channelId))
        {
            await Clients.Caller.SendAsync("closed", "Give areaId, channelId and key in the hub URL's query.");
            Context.Abort();
            return;
        }

        var (admission, refusal) = await gate.AdmitAsync(areaId, channelId, query["key"], Context.ConnectionAborted);
        if (admission is null)
        {
            await Clients.Caller.SendAsync("closed", $"{refusal!.Title} {refusal.Detail}");
            Context.Abort();
            return;
        }

        var connectionId = Context.ConnectionId;
        var context = Context;
        var subscriber = new Subscriber(admission.LeaseId, areaId, channelId, admission.Token.Id,
            admission.Channel.MaskSensitiveData ? admission.Channel.UnmaskedCharacters : null, options.Value.MaxBufferedRecords, options.Value.MaxBufferedBytes,
            (frame, ct) => hub.Clients.Client(connectionId).SendAsync("records", frame, ct),
            async reason =>
            {
                await hub.Clients.Client(connectionId).SendAsync("closed", reason);
                context.Abort();
            });
        Context.Items["subscriber"] = subscriber;
        registry.Add(subscriber);
        StreamMetrics.Connections.Add(1);
        _ = subscriber.RunSenderAsync();
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Items.TryGetValue("subscriber", out var item) && item is Subscriber subscriber)
        {
            await subscriber.CloseAsync("disconnected");
            registry.Remove(subscriber.LeaseId);
            StreamMetrics.Connections.Add(-1);
            await gate.ReleaseAsync(subscriber.LeaseId);
        }
    }
}
