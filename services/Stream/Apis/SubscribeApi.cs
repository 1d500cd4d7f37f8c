using CallLogs.ServiceDefaults.Errors;
using System.Net.WebSockets;
using System.Text;
using CallLogs.Stream.Extensions;
using CallLogs.Stream.Subscriptions;
using Microsoft.Extensions.Options;

namespace CallLogs.Stream.Apis;

/// <summary>
/// Plain WebSocket subscriptions at <c>/ecls/subscribe/{areaId}/{channelId}?key=&lt;token&gt;</c>: each text frame is
/// <c>{"data":[...]}</c>, and a <c>{"missed":N,"request_uuids":[...]}</c> frame where records were dropped for a slow
/// subscriber; a refused subscription gets a ProblemDetails with the reason before any upgrade. The server pings every
/// <see cref="StreamOptions.KeepAliveInterval"/> and cuts a subscriber that does not answer within
/// <see cref="StreamOptions.KeepAliveTimeout"/>.
/// </summary>
public static class SubscribeApi
{
    public static IEndpointRouteBuilder MapSubscribeApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/ecls/subscribe/{areaId:guid}/{channelId:guid}", Subscribe).WithName("SubscribeWebSocket").AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    public static async Task<IResult> Subscribe(Guid areaId, Guid channelId, string? key, HttpContext http, SubscriptionGate gate,
        SubscriberRegistry registry, IOptions<StreamOptions> options)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            throw new ProblemException(StatusCodes.Status400BadRequest, "This is a WebSocket endpoint.",
                "Connect with a WebSocket client to ws(s)://<host>/ecls/subscribe/<area id>/<channel id>?key=<token>.");
        }

        var (admission, refusal) = await gate.AdmitAsync(areaId, channelId, key, http.RequestAborted);
        if (admission is null)
        {
            throw refusal!.ToException();
        }

        try
        {
            using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                // Pings (not unsolicited pongs): a subscriber that does not answer within the timeout is cut and its place freed.
                KeepAliveInterval = options.Value.KeepAliveInterval,
                KeepAliveTimeout = options.Value.KeepAliveTimeout,
            });
            var sendLock = new SemaphoreSlim(1, 1);
            var subscriber = new Subscriber(admission.LeaseId, areaId, channelId, admission.Token.Id,
                admission.Channel.MaskSensitiveData ? admission.Channel.UnmaskedCharacters : null, options.Value.MaxBufferedRecords, options.Value.MaxBufferedBytes,
                async (frame, ct) =>
                {
                    await sendLock.WaitAsync(ct);
                    try
                    {
                        await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, ct);
                    }
                    finally
                    {
                        sendLock.Release();
                    }
                },
                async reason =>
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                    await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, reason, timeout.Token);
                });
            registry.Add(subscriber);
            StreamMetrics.Connections.Add(1);
            try
            {
                var sender = subscriber.RunSenderAsync();
                await ReceiveUntilClosedAsync(socket, subscriber.Closed);
                await subscriber.CloseAsync("closed");
                await sender;
            }
            finally
            {
                registry.Remove(subscriber.LeaseId);
                StreamMetrics.Connections.Add(-1);
            }
        }
        finally
        {
            await gate.ReleaseAsync(admission.LeaseId);
        }

        return Results.Empty;
    }

    /// <summary>
    /// Reads (and ignores) what the client sends until it closes. When the server closes first (a revoked token), the
    /// client has two seconds to answer the close handshake before the connection is cut.
    /// </summary>
    private static async Task ReceiveUntilClosedAsync(WebSocket socket, CancellationToken closed)
    {
        var buffer = new byte[1024];
        using var giveUp = new CancellationTokenSource();
        await using var registration = closed.Register(() => giveUp.CancelAfter(TimeSpan.FromSeconds(2)));
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var message = await socket.ReceiveAsync(buffer, giveUp.Token);
                if (message.MessageType == WebSocketMessageType.Close)
                {
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    }

                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client went away or the subscription was closed.
        }
    }
}
