using Microsoft.AspNetCore.WebUtilities;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>The errorCode of a failed call: a stable, readable name of its status, what trail users filter on.</summary>
public static class AuditErrorCodes
{
    public static string Of(int status) => status switch
    {
        400 => "ValidationError",
        401 => "Unauthenticated",
        403 => "AccessDenied",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        413 => "RequestTooLarge",
        415 => "UnsupportedMediaType",
        422 => "UnprocessableEntity",
        429 => "Throttled",
        503 => "ServiceUnavailable",
        >= 500 => "InternalError",
        _ => ReasonPhrases.GetReasonPhrase(status).Replace(" ", "", StringComparison.Ordinal) is { Length: > 0 } phrase ? phrase : $"Http{status}",
    };
}
