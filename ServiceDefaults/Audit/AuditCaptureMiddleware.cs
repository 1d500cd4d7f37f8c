using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Security.Authentication;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Outbox;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// Records every management call (a request under <c>/api</c> whose endpoint does not carry
/// <see cref="ExcludeFromAuditMetadata"/>, monitoring reads aside) as an <see cref="AuditEventRecorded"/> in the
/// service's outbox. It sits outside the exception handler and the authorisation middleware, so refused and failed
/// calls are recorded with the status and ProblemDetails the caller received.
/// <para>
/// A call that may change something (any method but GET, HEAD, OPTIONS) runs in an <see cref="AuditTransaction"/>,
/// opened by its first DbContext: its response is held back, its event is written into the outbox in the same
/// transaction as its change, and only when that commits is the response sent. If the commit fails, nothing was changed
/// and the caller gets 503; a crash anywhere before the commit leaves neither the change nor the event. A call that never
/// touched the database (refused before its handler) and reads are recorded after they are answered.
/// </para>
/// <para>
/// Whatever bytes a request holds become an event (see <see cref="AuditJson"/>); secrets are removed by name and by
/// value (<see cref="AuditRedaction"/>). Only an authenticated caller's call goes to an area's trail, and only to an
/// area the caller may reach: calls without a valid token and calls into another area go to the platform trail,
/// without their bodies, and at most <see cref="AuditCaptureOptions.UntrustedEventsPerSourcePerMinute"/> per source.
/// </para>
/// </summary>
internal sealed partial class AuditCaptureMiddleware(
    RequestDelegate next,
    IOptions<AuditCaptureOptions> options,
    AuditEventSource source,
    UntrustedCallLimiter limiter,
    TimeProvider clock,
    ILogger<AuditCaptureMiddleware> logger,
    IAuditEventWriter? writer = null,
    OutboxSignal? signal = null)
{
    public const string EventVersion = "1.1";
    public const string EventType = "ApiCall";
    public const int MaxUserAgentBytes = 1024;
    public const int MaxParameterBytes = 100 * 1024;

    /// <summary>What is kept of a query value, the user agent and the error message of a call from outside.</summary>
    public const int MaxUntrustedTextLength = 256;

    private static readonly Counter<long> Recorded = Telemetry.Meter.CreateCounter<long>("calllogs.audit.captured", description: "Management calls recorded as audit events");
    private static readonly Counter<long> Failed = Telemetry.Meter.CreateCounter<long>("calllogs.audit.capture_failed", description: "Audit events that could not be written to the outbox");
    private static readonly Counter<long> Refused = Telemetry.Meter.CreateCounter<long>("calllogs.audit.changes_refused",
        description: "Changing calls answered 503 because their audit event could not be committed with them (nothing was changed)");
    private static readonly Counter<long> Untrusted = Telemetry.Meter.CreateCounter<long>("calllogs.audit.untrusted_calls",
        description: "Refused calls without a valid token or into another area; recorded=false: only counted, over the per-source limit");

    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (writer is null || !IsManagementCall(context, endpoint, out var readOnly))
        {
            await next(context);
            return;
        }

        if (IsJson(context.Request.ContentType))
        {
            context.Request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: 16 * 1024 * 1024);
        }

        // Copied now: the exception handler empties the route values when a handler or filter throws its refusal.
        var call = new Call(endpoint, new RouteValueDictionary(context.Request.RouteValues));
        var transaction = readOnly ? null : context.RequestServices.GetService<AuditTransaction>();
        if (transaction is null)
        {
            await RecordAfterAsync(context, call, readOnly);
        }
        else
        {
            await RecordWithChangeAsync(context, call, transaction);
        }
    }

    private bool IsManagementCall(HttpContext context, Endpoint? endpoint, out bool readOnly)
    {
        var request = context.Request;
        readOnly = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method);
        if (!request.Path.StartsWithSegments(options.Value.ApiPathPrefix, StringComparison.OrdinalIgnoreCase)
            || endpoint?.Metadata.GetMetadata<ExcludeFromAuditMetadata>() is not null
            || context.WebSockets.IsWebSocketRequest)
        {
            return false;
        }

        return !readOnly || !options.Value.MonitoringPathPrefixes.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A read: answered as it is written, recorded afterwards (it changed nothing that its event must commit with).</summary>
    private async Task RecordAfterAsync(HttpContext context, Call call, bool readOnly)
    {
        var originalBody = context.Features.Get<IHttpResponseBodyFeature>()!;
        var capture = ResponseCapture.PassThrough(originalBody.Stream, MaxParameterBytes + 1, () => !readOnly || context.Response.StatusCode >= 400);
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(capture, originalBody));
        try
        {
            await next(context);
        }
        finally
        {
            context.Features.Set(originalBody);
            try
            {
                if (await BuildAsync(context, call, readOnly, capture, context.Response.StatusCode) is { } auditEvent)
                {
                    await writer!.WriteAsync(auditEvent, null, CancellationToken.None);
                    Recorded.Add(1, new KeyValuePair<string, object?>("event_name", auditEvent.EventName));
                }
            }
            catch (Exception ex)
            {
                Failed.Add(1);
                LogCaptureFailed(logger, ex, context.Request.Method, context.Request.Path);
            }
        }
    }

    /// <summary>A call that may change something: the change and its event commit together, then the response leaves.</summary>
    private async Task RecordWithChangeAsync(HttpContext context, Call call, AuditTransaction transaction)
    {
        transaction.Arm();
        var originalBody = context.Features.Get<IHttpResponseBodyFeature>()!;
        await using var held = ResponseCapture.Held(MaxParameterBytes + 1);
        var heldFeature = new StreamResponseBodyFeature(held);
        context.Features.Set<IHttpResponseBodyFeature>(heldFeature);
        ExceptionDispatchInfo? escaped = null;
        try
        {
            await next(context);
            await heldFeature.CompleteAsync();
        }
        catch (Exception ex)
        {
            escaped = ExceptionDispatchInfo.Capture(ex);
        }
        finally
        {
            context.Features.Set(originalBody);
        }

        if (escaped is not null)
        {
            // Nothing answered it (the exception handler lets cancellations through): roll back, record the failure, rethrow.
            await transaction.RollbackAsync();
            await RecordOnItsOwnAsync(context, call, held, StatusCodes.Status500InternalServerError, rolledBack: true);
            escaped.Throw();
        }

        if (!transaction.IsOpen)
        {
            // The handler never touched the database (refused before it, or nothing to store): there is nothing to
            // commit the event with, so it is written on its own, and the answer leaves as it is.
            await transaction.RollbackAsync();
            await RecordOnItsOwnAsync(context, call, held, context.Response.StatusCode, rolledBack: false);
            await held.DrainAsync(context.Response.Body, CancellationToken.None);
            return;
        }

        AuditEventRecorded? auditEvent = null;
        try
        {
            auditEvent = await BuildAsync(context, call, readOnly: false, held, context.Response.StatusCode);
            if (auditEvent is not null)
            {
                await writer!.WriteAsync(auditEvent, transaction.Transaction, CancellationToken.None);
            }

            await transaction.CommitAsync();
        }
        catch (Exception ex)
        {
            Failed.Add(1);
            Refused.Add(1);
            LogChangeRefused(logger, ex, context.Request.Method, context.Request.Path);
            await transaction.RollbackAsync();
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await WriteUnavailableAsync(context);
            }

            await RecordOnItsOwnAsync(context, call, held, StatusCodes.Status503ServiceUnavailable, rolledBack: true);
            return;
        }

        signal?.Notify();
        if (auditEvent is not null)
        {
            Recorded.Add(1, new KeyValuePair<string, object?>("event_name", auditEvent.EventName));
        }

        await held.DrainAsync(context.Response.Body, CancellationToken.None);
    }

    /// <summary>The event of a call written on its own: one whose change was rolled back (the attempt is still on record), or that changed nothing.</summary>
    private async Task RecordOnItsOwnAsync(HttpContext context, Call call, ResponseCapture held, int status, bool rolledBack)
    {
        try
        {
            if (await BuildAsync(context, call, readOnly: false, held, status, rolledBack) is { } auditEvent)
            {
                await writer!.WriteAsync(auditEvent, null, CancellationToken.None);
                Recorded.Add(1, new KeyValuePair<string, object?>("event_name", auditEvent.EventName));
            }
        }
        catch (Exception ex)
        {
            Failed.Add(1);
            LogCaptureFailed(logger, ex, context.Request.Method, context.Request.Path);
        }
    }

    private static async Task WriteUnavailableAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "5";
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = "The change was not made.",
            Detail = "Every change is committed together with its audit event, and that could not be done now (the service's database did not answer). Nothing was changed: send the same request again in a few seconds.",
            Instance = context.Request.Path,
        };
        problem.Extensions["traceId"] = context.TraceIdentifier;
        if (context.RequestServices.GetService<IProblemDetailsService>() is not { } problems
            || !await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            await context.Response.WriteAsJsonAsync(problem, (JsonSerializerOptions?)null, "application/problem+json");
        }
    }

    /// <summary>The event of a call, or null when it is a refused call from outside over its source's limit (then only counted).</summary>
    private async Task<AuditEventRecorded?> BuildAsync(HttpContext context, Call call, bool readOnly, ResponseCapture capture, int status,
        bool rolledBack = false)
    {
        var request = context.Request;
        var (endpoint, routeValues) = call;
        var json = new AuditJson();
        var routePattern = (endpoint as RouteEndpoint)?.RoutePattern.RawText;
        // Every endpoint under /api has a name (EndpointNameCheck); a call that reached none (an unknown path, a method
        // the route does not take) is named from its path.
        var eventName = endpoint?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName
            ?? AuditEventNames.Derive(request.Method, routePattern ?? request.Path.Value ?? "/");

        var user = context.User;
        var authenticated = user.Identity?.IsAuthenticated == true;
        var routeArea = Guid.TryParse(routeValues[AreaAccess.AreaRouteValue] as string, out var area) ? area : (Guid?)null;
        Guid? recipient;
        bool trusted;
        if (!authenticated)
        {
            (recipient, trusted) = (null, false);
        }
        else if (routeArea is { } asked)
        {
            trusted = user.CanReachArea(asked);
            recipient = trusted ? asked : null;
        }
        else
        {
            (recipient, trusted) = (user.AreaId(), true);
        }

        var additional = new JsonObject();
        if (rolledBack)
        {
            additional["changeRolledBack"] = true;
        }

        if (!trusted)
        {
            var sourceKey = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            // A refused call changed nothing; one that succeeded (an endpoint open to all) is always recorded.
            var recorded = limiter.TryRecord(sourceKey, out var suppressedBefore) || status is >= 200 and < 300;
            Untrusted.Add(1, new KeyValuePair<string, object?>("recorded", recorded));
            if (!recorded)
            {
                return null;
            }

            additional["untrusted"] = authenticated ? "AreaNotReachable" : "Unauthenticated";
            if (routeArea is { } requested)
            {
                additional["requestedAreaId"] = requested.ToString("D");
            }

            if (suppressedBefore > 0)
            {
                additional["suppressedCallsFromSource"] = suppressedBefore;
            }
        }

        var parameters = new JsonObject();
        var resources = new List<AuditResource>();
        foreach (var (key, value) in routeValues)
        {
            if (value is not string text || endpoint is RouteEndpoint re && re.RoutePattern.GetParameter(key) is null)
            {
                continue;
            }

            var clean = Cut(json.Text(text)!, trusted);
            parameters[json.Text(key)!] = clean;
            if (key.EndsWith("Id", StringComparison.Ordinal) || key is "id" or "uuid")
            {
                resources.Add(new AuditResource { Type = AuditEventNames.ParameterResourceType(routePattern ?? "", key), Name = clean });
            }
        }

        foreach (var (key, value) in request.Query.Take(trusted ? int.MaxValue : 20))
        {
            parameters.TryAdd(json.Text(key)!, value.Count == 1
                ? JsonValue.Create(Cut(json.Text(value[0]) ?? "", trusted))
                : new JsonArray(value.Select(v => (JsonNode?)JsonValue.Create(Cut(json.Text(v) ?? "", trusted))).ToArray()));
        }

        if (trusted)
        {
            if (await ReadRequestBodyAsync(request, json) is { } body)
            {
                parameters["body"] = body;
            }
        }
        else if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            parameters["body"] = new JsonObject { ["omitted"] = "The caller may not act here; the body of such a call is not kept.", ["sizeBytes"] = request.ContentLength };
        }

        var responseBody = capture.Copied(out var responseTruncated);
        JsonNode? responseJson = null;
        if (responseBody.Length > 0 && IsJson(context.Response.ContentType))
        {
            responseJson = responseTruncated ? Truncated(capture.TotalBytes) : json.Parse(responseBody);
        }

        string? errorCode = null;
        string? errorMessage = null;
        JsonNode? responseElements = null;
        if (status >= 400)
        {
            errorCode = AuditErrorCodes.Of(status);
            errorMessage = rolledBack && status == StatusCodes.Status503ServiceUnavailable
                ? "The change and its audit event could not be committed; nothing was changed and the caller was answered 503."
                : Cut(AuditRedaction.RedactText(ErrorMessage(responseJson, status)), trusted);
        }
        else if (!readOnly)
        {
            responseElements = AuditRedaction.Redact(responseJson);
            if (responseJson is JsonObject created && created["id"] is JsonValue id && id.TryGetValue<string>(out var createdId)
                && routePattern is not null && !resources.Any(r => r.Name == createdId)
                && (endpoint?.Metadata.GetMetadata<AuditResourceMetadata>()?.Kind ?? AuditEventNames.CreatedResourceType(routePattern)) is { } createdType)
            {
                resources.Add(new AuditResource { Type = createdType, Name = createdId });
            }
        }

        if (json.ReplacedCharacters > 0)
        {
            additional["replacedCharacters"] = json.ReplacedCharacters;
        }

        return new AuditEventRecorded
        {
            EventVersion = EventVersion,
            EventId = Guid.NewGuid(),
            EventTime = clock.GetUtcNow(),
            EventSource = source.Name,
            EventName = eventName,
            Region = options.Value.Region,
            UserIdentity = Identity(user, authenticated, json),
            SourceIpAddress = context.Connection.RemoteIpAddress?.ToString(),
            UserAgent = CutUtf8(AuditRedaction.RedactText(json.Text(request.Headers.UserAgent.ToString())!), trusted ? MaxUserAgentBytes : MaxUntrustedTextLength),
            RequestParameters = LimitObject(AuditRedaction.RedactObject(parameters)),
            ResponseElements = Limit(responseElements),
            RequestId = context.TraceIdentifier,
            ReadOnly = readOnly,
            EventType = EventType,
            ErrorCode = errorCode,
            ErrorMessage = errorMessage,
            Resources = resources,
            RecipientAreaId = recipient,
            HttpStatusCode = status,
            AdditionalEventData = additional.Count > 0 ? additional : null,
            TlsDetails = Tls(context),
        };
    }

    private static AuditUserIdentity Identity(ClaimsPrincipal user, bool authenticated, AuditJson json)
    {
        if (!authenticated)
        {
            return new AuditUserIdentity { Type = "Anonymous" };
        }

        var issuedAt = long.TryParse(user.FindFirstValue("iat"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : (DateTimeOffset?)null;
        return new AuditUserIdentity
        {
            Type = IdentityType(user),
            PrincipalId = json.Text(user.PrincipalId()),
            UserName = json.Text(user.Identity?.Name),
            AreaId = user.AreaId(),
            AccessKeyId = json.Text(user.TokenId()),
            TokenIssuedAt = issuedAt,
        };
    }

    private static AuditTlsDetails? Tls(HttpContext context)
    {
        if (!context.Request.IsHttps)
        {
            return null;
        }

        var tls = context.Features.Get<ITlsHandshakeFeature>();
        return new AuditTlsDetails
        {
            TlsVersion = tls?.Protocol switch
            {
#pragma warning disable SYSLIB0039 // Old protocol versions are named as they are, not negotiated.
                SslProtocols.Tls => "TLSv1",
                SslProtocols.Tls11 => "TLSv1.1",
#pragma warning restore SYSLIB0039
                SslProtocols.Tls12 => "TLSv1.2",
                SslProtocols.Tls13 => "TLSv1.3",
                null => null,
                var other => other.ToString(),
            },
            CipherSuite = tls?.NegotiatedCipherSuite?.ToString(),
            ClientProvidedHostHeader = context.Request.Host.Value,
        };
    }

    private static async Task<JsonNode?> ReadRequestBodyAsync(HttpRequest request, AuditJson json)
    {
        if (!IsJson(request.ContentType))
        {
            return request.ContentLength is > 0
                ? new JsonObject { ["contentType"] = json.Text(request.ContentType), ["sizeBytes"] = request.ContentLength }
                : null;
        }

        if (!request.Body.CanSeek)
        {
            return null;
        }

        request.Body.Position = 0;
        var buffer = new byte[MaxParameterBytes + 1];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await request.Body.ReadAsync(buffer.AsMemory(read), CancellationToken.None)) > 0)
        {
            read += n;
        }

        if (read == 0)
        {
            return null;
        }

        if (read > MaxParameterBytes)
        {
            return Truncated(request.ContentLength ?? read);
        }

        return json.Parse(buffer.AsSpan(0, read)) ?? new JsonObject { ["invalidJson"] = true, ["sizeBytes"] = read };
    }

    private static JsonObject Truncated(long size) => new() { ["truncated"] = true, ["sizeBytes"] = size };

    private static JsonNode? Limit(JsonNode? node)
    {
        if (node is null)
        {
            return null;
        }

        var size = Encoding.UTF8.GetByteCount(node.ToJsonString());
        return size > MaxParameterBytes ? Truncated(size) : node;
    }

    private static JsonObject LimitObject(JsonObject node) => (JsonObject)Limit(node)!;

    private static string Cut(string value, bool trusted) =>
        trusted || value.Length <= MaxUntrustedTextLength ? value : value[..MaxUntrustedTextLength] + "…";

    private static string? CutUtf8(string value, int maxBytes)
    {
        if (value.Length == 0)
        {
            return null;
        }

        if (Encoding.UTF8.GetByteCount(value) <= maxBytes)
        {
            return value;
        }

        var cut = Math.Min(value.Length, maxBytes);
        while (Encoding.UTF8.GetByteCount(value.AsSpan(0, cut)) > maxBytes)
        {
            cut--;
        }

        if (cut > 0 && char.IsHighSurrogate(value[cut - 1]))
        {
            cut--;
        }

        return value[..cut];
    }

    private static bool IsJson(string? contentType) =>
        contentType is not null && contentType.Contains("json", StringComparison.OrdinalIgnoreCase);

    private static string IdentityType(ClaimsPrincipal user) => user.FindFirst(CallLogsClaims.Role)?.Value switch
    {
        Roles.PlatformAdmin => "PlatformAdmin",
        Roles.AreaAdmin => "AreaAdmin",
        Roles.AreaViewer => "AreaViewer",
        Roles.Ingest => "Ingest",
        Roles.Operator => "Operator",
        { } other => other,
        null => "Unknown",
    };

    private static string ErrorMessage(JsonNode? problem, int status)
    {
        var detail = problem?["detail"]?.GetValueKind() == JsonValueKind.String ? problem["detail"]!.GetValue<string>() : null;
        var title = problem?["title"]?.GetValueKind() == JsonValueKind.String ? problem["title"]!.GetValue<string>() : null;
        var message = (title, detail) switch
        {
            (not null, not null) => $"{title} {detail}",
            (not null, null) => title,
            (null, not null) => detail,
            _ => ReasonPhrases.GetReasonPhrase(status),
        };
        if (problem?["errors"] is JsonObject errors && errors.Count > 0)
        {
            message += " Fields: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value is JsonArray a ? a.Select(x => x?.ToString()) : [e.Value?.ToString()])}"));
        }

        return message.Length > 1024 ? message[..1024] : message;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit event of {Method} {Path} could not be written to the outbox")]
    private static partial void LogCaptureFailed(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} was refused with 503: its change and audit event could not be committed, so neither was kept")]
    private static partial void LogChangeRefused(ILogger logger, Exception exception, string method, string path);

    /// <summary>The endpoint a call reached and its route values, as routing set them.</summary>
    private sealed record Call(Endpoint? Endpoint, RouteValueDictionary RouteValues);
}
