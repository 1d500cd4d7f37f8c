using System.Diagnostics.Metrics;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// Records every management call (a request under <c>/api</c> whose endpoint does not carry
/// <see cref="ExcludeFromAuditMetadata"/>) as an <see cref="AuditEventRecorded"/> in the service's outbox. It sits
/// outside the exception handler and the authorisation middleware, so refused and failed calls are recorded with the
/// status and ProblemDetails the caller received. The event is written before the response completes.
/// </summary>
internal sealed partial class AuditCaptureMiddleware(
    RequestDelegate next,
    IOptions<AuditCaptureOptions> options,
    AuditEventSource source,
    TimeProvider clock,
    ILogger<AuditCaptureMiddleware> logger,
    IAuditEventWriter? writer = null)
{
    public const string EventVersion = "1.0";
    public const string EventType = "ApiCall";
    public const int MaxUserAgentBytes = 1024;
    public const int MaxParameterBytes = 100 * 1024;

    private static readonly Counter<long> Recorded = Telemetry.Meter.CreateCounter<long>("calllogs.audit.captured", description: "Management calls recorded as audit events");
    private static readonly Counter<long> Failed = Telemetry.Meter.CreateCounter<long>("calllogs.audit.capture_failed", description: "Audit events that could not be written to the outbox");

    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (writer is null
            || !context.Request.Path.StartsWithSegments(options.Value.ApiPathPrefix, StringComparison.OrdinalIgnoreCase)
            || endpoint?.Metadata.GetMetadata<ExcludeFromAuditMetadata>() is not null
            || context.WebSockets.IsWebSocketRequest)
        {
            await next(context);
            return;
        }

        var readOnly = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || HttpMethods.IsOptions(context.Request.Method);
        if (IsJson(context.Request.ContentType))
        {
            context.Request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: 16 * 1024 * 1024);
        }

        var originalBody = context.Features.Get<IHttpResponseBodyFeature>()!;
        var capture = new CapturingStream(originalBody.Stream, MaxParameterBytes + 1, () => !readOnly || context.Response.StatusCode >= 400);
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(capture, originalBody));
        try
        {
            await next(context);
        }
        finally
        {
            context.Features.Set(originalBody);
            await RecordAsync(context, endpoint, readOnly, capture);
        }
    }

    private async Task RecordAsync(HttpContext context, Endpoint? endpoint, bool readOnly, CapturingStream capture)
    {
        try
        {
            var auditEvent = await BuildAsync(context, endpoint, readOnly, capture);
            await writer!.WriteAsync(auditEvent, CancellationToken.None);
            Recorded.Add(1, new KeyValuePair<string, object?>("event_name", auditEvent.EventName));
        }
        catch (Exception ex)
        {
            Failed.Add(1);
            LogCaptureFailed(logger, ex, context.Request.Method, context.Request.Path);
        }
    }

    private async Task<AuditEventRecorded> BuildAsync(HttpContext context, Endpoint? endpoint, bool readOnly, CapturingStream capture)
    {
        var request = context.Request;
        var status = context.Response.StatusCode;
        var routePattern = (endpoint as RouteEndpoint)?.RoutePattern.RawText;
        var eventName = endpoint?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName
            ?? AuditEventNames.Derive(request.Method, routePattern ?? request.Path.Value ?? "/");

        var parameters = new JsonObject();
        var resources = new List<AuditResource>();
        Guid? routeArea = null;
        foreach (var (key, value) in request.RouteValues)
        {
            if (value is not string text || endpoint is RouteEndpoint re && re.RoutePattern.GetParameter(key) is null)
            {
                continue;
            }

            parameters[key] = text;
            if (key.EndsWith("Id", StringComparison.Ordinal))
            {
                resources.Add(new AuditResource { Type = AuditEventNames.ResourceType(key), Name = text });
            }

            if (key == AreaAccess.AreaRouteValue && Guid.TryParse(text, out var area))
            {
                routeArea = area;
            }
        }

        foreach (var (key, value) in request.Query)
        {
            parameters.TryAdd(key, value.Count == 1 ? JsonValue.Create(value[0]) : new JsonArray(value.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()));
        }

        if (await ReadRequestBodyAsync(request) is { } body)
        {
            parameters["body"] = body;
        }

        var responseBody = capture.Captured(out var responseTruncated);
        JsonNode? responseJson = null;
        if (responseBody.Length > 0 && IsJson(context.Response.ContentType))
        {
            responseJson = responseTruncated ? Truncated(capture.TotalBytes) : TryParse(responseBody);
        }

        string? errorCode = null;
        string? errorMessage = null;
        JsonNode? responseElements = null;
        if (status >= 400)
        {
            errorCode = AuditErrorCodes.Of(status);
            errorMessage = ErrorMessage(responseJson, status);
        }
        else if (!readOnly)
        {
            responseElements = AuditRedaction.Redact(responseJson);
            if (responseJson is JsonObject created && created["id"] is JsonValue id && id.TryGetValue<string>(out var createdId)
                && routePattern is not null && !resources.Any(r => r.Name == createdId))
            {
                var lastLiteral = routePattern.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(s => !s.StartsWith('{'));
                if (lastLiteral is not null)
                {
                    resources.Add(new AuditResource { Type = AuditEventNames.SingularSegment(lastLiteral), Name = createdId });
                }
            }
        }

        var user = context.User;
        var authenticated = user.Identity?.IsAuthenticated == true;
        return new AuditEventRecorded
        {
            EventVersion = EventVersion,
            EventId = Guid.NewGuid(),
            EventTime = clock.GetUtcNow(),
            EventSource = source.Name,
            EventName = eventName,
            Region = options.Value.Region,
            UserIdentity = new AuditUserIdentity
            {
                Type = authenticated ? IdentityType(user) : "Anonymous",
                PrincipalId = authenticated ? user.PrincipalId() : null,
                UserName = authenticated ? user.Identity?.Name : null,
                AreaId = authenticated ? user.AreaId() : null,
                AccessKeyId = authenticated ? user.TokenId() : null,
            },
            SourceIpAddress = context.Connection.RemoteIpAddress?.ToString(),
            UserAgent = CutUtf8(request.Headers.UserAgent.ToString(), MaxUserAgentBytes),
            RequestParameters = LimitObject(AuditRedaction.RedactObject(parameters)),
            ResponseElements = Limit(responseElements),
            RequestId = context.TraceIdentifier,
            ReadOnly = readOnly,
            EventType = EventType,
            ErrorCode = errorCode,
            ErrorMessage = errorMessage,
            Resources = resources,
            RecipientAreaId = routeArea ?? (authenticated ? user.AreaId() : null),
            HttpStatusCode = status,
        };
    }

    private static async Task<JsonNode?> ReadRequestBodyAsync(HttpRequest request)
    {
        if (!IsJson(request.ContentType))
        {
            return request.ContentLength is > 0
                ? new JsonObject { ["contentType"] = request.ContentType, ["sizeBytes"] = request.ContentLength }
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

        return TryParse(buffer.AsSpan(0, read)) ?? new JsonObject { ["invalidJson"] = true, ["sizeBytes"] = read };
    }

    private static JsonNode? TryParse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonObject Truncated(long size) => new() { ["truncated"] = true, ["sizeBytes"] = size };

    private static JsonNode? Limit(JsonNode? node) =>
        node is not null && Encoding.UTF8.GetByteCount(node.ToJsonString()) > MaxParameterBytes ? Truncated(Encoding.UTF8.GetByteCount(node.ToJsonString())) : node;

    private static JsonObject LimitObject(JsonObject node) => (JsonObject)Limit(node)!;

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

        var cut = value.Length;
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
        contentType is not null && (contentType.Contains("json", StringComparison.OrdinalIgnoreCase));

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
}

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

/// <summary>The service name written as eventSource.</summary>
public sealed record AuditEventSource(string Name);

/// <summary>Passes everything through and keeps a copy of the first bytes, when <c>shouldCapture</c> says so at the first write.</summary>
internal sealed class CapturingStream(Stream inner, int limit, Func<bool> shouldCapture) : Stream
{
    private MemoryStream? _copy;
    private bool _decided;

    public long TotalBytes { get; private set; }

    public byte[] Captured(out bool truncated)
    {
        truncated = TotalBytes > limit - 1;
        return _copy?.ToArray() ?? [];
    }

    private void Keep(ReadOnlySpan<byte> data)
    {
        if (!_decided)
        {
            _decided = true;
            _copy = shouldCapture() ? new MemoryStream() : null;
        }

        TotalBytes += data.Length;
        if (_copy is not null && _copy.Length < limit)
        {
            _copy.Write(data[..(int)Math.Min(data.Length, limit - _copy.Length)]);
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        Keep(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Keep(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
