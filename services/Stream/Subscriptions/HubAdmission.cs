using CallLogs.Stream.Apis;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallLogs.Stream.Subscriptions;

/// <summary>
/// Checks a SignalR client before SignalR sees it, on its negotiate and its connect request: a refusal (bad key,
/// disabled channel or token, no free place) is a ProblemDetails with 400/401/403/429, so the client's <c>start()</c>
/// fails with the reason instead of succeeding and then being closed. The place itself is taken by
/// <see cref="StreamHub"/> when the connection opens.
/// </summary>
public sealed class HubAdmission(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext http, SubscriptionGate gate)
    {
        var query = http.Request.Query;
        if (!Guid.TryParse(query["areaId"], out var areaId) || !Guid.TryParse(query["channelId"], out var channelId))
        {
            await TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The hub URL is missing its channel.",
                detail: $"Connect to {StreamHub.Path}?areaId=<area id>&channelId=<channel id>&key=<token>.").ExecuteAsync(http);
            return;
        }

        var (_, refusal) = await gate.AdmitAsync(areaId, channelId, query["key"], http.RequestAborted, reserve: false);
        if (refusal is not null)
        {
            await TypedResults.Problem(statusCode: refusal.Status, title: refusal.Title, detail: refusal.Detail).ExecuteAsync(http);
            return;
        }

        await next(http);
    }
}
