using CallLogs.Stream.Apis;
using CallLogs.ServiceDefaults.Errors;

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
            throw new ProblemException(StatusCodes.Status400BadRequest, "The hub URL is missing its channel.",
                $"Connect to {StreamHub.Path}?areaId=<area id>&channelId=<channel id>&key=<token>.");
        }

        var (_, refusal) = await gate.AdmitAsync(areaId, channelId, query["key"], http.RequestAborted, reserve: false);
        if (refusal is not null)
        {
            throw refusal.ToException();
        }

        await next(http);
    }
}
