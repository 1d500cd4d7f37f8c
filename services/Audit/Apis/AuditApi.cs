using System.Text.Json.Nodes;
using CallLogs.Audit.Data;
using CallLogs.Audit.Delivery;
using CallLogs.Audit.Domain;
using CallLogs.ServiceDefaults.Auth;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Audit.Apis;

/// <summary>
/// Event history: lookup (any combination of attributes, ANDed; newest first; pages of 1 to 50 with a continuation
/// token) and download of everything a lookup's filters match, as JSON or CSV, streamed. Also the public keys that sign
/// digests, and validation of the platform trail's chains. Area admins see their area; platform admins every area.
/// </summary>
public static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var area = app.MapGroup("/api/areas/{areaId:guid}/audit").WithTags("Audit");
        area.MapGet("/events", LookupAreaEvents).WithName("LookupAuditEvents").RequireAreaRole(Roles.AreaAdmin);
        area.MapGet("/events/download", DownloadAreaEvents).WithName("DownloadAuditEvents").RequireAreaRole(Roles.AreaAdmin);
        area.MapGet("/validation", ValidateAreaTrail).WithName("ValidateAuditTrail").RequireAreaRole(Roles.AreaAdmin);

        var platform = app.MapGroup("/api/audit").WithTags("Audit");
        platform.MapGet("/events", LookupAllEvents).WithName("LookupAllAuditEvents").RequirePlatformAdmin();
        platform.MapGet("/events/download", DownloadAllEvents).WithName("DownloadAllAuditEvents").RequirePlatformAdmin();
        platform.MapGet("/validation", ValidatePlatformTrail).WithName("ValidatePlatformAuditTrail").RequirePlatformAdmin();
        platform.MapGet("/public-keys", ListPublicKeys).WithName("ListAuditPublicKeys").RequireAuthorization();
        return app;
    }

    public sealed record LookupRequest(
        DateTimeOffset? StartTime,
        DateTimeOffset? EndTime,
        string? EventName,
        string? EventSource,
        string? UserName,
        string? AccessKeyId,
        string? ResourceType,
        string? ResourceName,
        bool? ReadOnly,
        Guid? EventId,
        int? MaxResults,
        string? NextToken);

    public sealed record LookupResponse(IReadOnlyList<JsonNode?> Events, string? NextToken);

    public sealed record PublicKey(string Fingerprint, string PublicKeyPem, DateTimeOffset FirstUsed);

    public const int DefaultMaxResults = 50;

    private static Task<Ok<LookupResponse>> LookupAreaEvents(Guid areaId, [AsParameters] LookupRequest request,
        AuditDbContext db, TimeProvider clock, IOptions<AuditOptions> options, CancellationToken cancellationToken) =>
        LookupAsync(areaId, request, db, clock, options.Value, cancellationToken);

    private static Task<Ok<LookupResponse>> LookupAllEvents(Guid? areaId, [AsParameters] LookupRequest request,
        AuditDbContext db, TimeProvider clock, IOptions<AuditOptions> options, CancellationToken cancellationToken) =>
        LookupAsync(areaId, request, db, clock, options.Value, cancellationToken);

    private static async Task<Ok<LookupResponse>> LookupAsync(Guid? areaId, LookupRequest request, AuditDbContext db,
        TimeProvider clock, AuditOptions options, CancellationToken cancellationToken)
    {
        var max = request.MaxResults ?? DefaultMaxResults;
        var failures = new List<ValidationFailure>();
        if (max is < 1 or > 50)
        {
            failures.Add(new ValidationFailure(nameof(LookupRequest.MaxResults), "maxResults must be between 1 and 50."));
        }

        ContinuationToken token = default;
        if (request.NextToken is not null && !ContinuationToken.TryDecode(request.NextToken, out token))
        {
            failures.Add(new ValidationFailure(nameof(LookupRequest.NextToken), "nextToken is not one this API returned; send the nextToken of the previous page, or none for the first page."));
        }

        var query = Filter(db, areaId, request, clock, options, failures);
        if (request.NextToken is not null)
        {
            query = query.Where(e => e.EventTime < token.EventTime || (e.EventTime == token.EventTime && e.Seq < token.Seq));
        }

        var page = await query.OrderByDescending(e => e.EventTime).ThenByDescending(e => e.Seq)
            .Take(max + 1)
            .Select(e => new { e.Record, e.EventTime, e.Seq })
            .ToListAsync(cancellationToken);
        var next = page.Count > max ? new ContinuationToken(page[max - 1].EventTime, page[max - 1].Seq).Encode() : null;
        return TypedResults.Ok(new LookupResponse(page.Take(max).Select(e => JsonNode.Parse(e.Record)).ToList(), next));
    }

    private static PushStreamHttpResult DownloadAreaEvents(Guid areaId, [AsParameters] LookupRequest request, string? format,
        AuditDbContext db, TimeProvider clock, IOptions<AuditOptions> options) =>
        Download(areaId, request, format, db, clock, options.Value);

    private static PushStreamHttpResult DownloadAllEvents(Guid? areaId, [AsParameters] LookupRequest request, string? format,
        AuditDbContext db, TimeProvider clock, IOptions<AuditOptions> options) =>
        Download(areaId, request, format, db, clock, options.Value);

    /// <summary>
    /// Every event the filters match, newest first, written as it is read from the database (nothing is held in memory):
    /// <c>format=json</c> (the default) gives <c>{"Records":[...]}</c> like a log file, <c>format=csv</c> one row per event.
    /// </summary>
    private static PushStreamHttpResult Download(Guid? areaId, LookupRequest request, string? format, AuditDbContext db, TimeProvider clock,
        AuditOptions options)
    {
        var failures = new List<ValidationFailure>();
        var csv = format?.ToLowerInvariant() switch
        {
            null or "json" => false,
            "csv" => true,
            _ => Fail(failures, "format", "format must be json or csv."),
        };
        if (request.MaxResults is not null || request.NextToken is not null)
        {
            failures.Add(new ValidationFailure(request.MaxResults is not null ? nameof(LookupRequest.MaxResults) : nameof(LookupRequest.NextToken),
                "A download has every matching event in one answer: leave out maxResults and nextToken (narrow it with startTime and endTime)."));
        }

        var records = Filter(db, areaId, request, clock, options, failures)
            .OrderByDescending(e => e.EventTime).ThenByDescending(e => e.Seq)
            .Select(e => e.Record)
            .AsAsyncEnumerable();
        var name = $"audit-events-{clock.GetUtcNow():yyyyMMdd'T'HHmmss'Z'}.{(csv ? "csv" : "json")}";
        return csv
            ? TypedResults.Stream(stream => EventCsv.WriteAsync(stream, records, CancellationToken.None), "text/csv; charset=utf-8", name)
            : TypedResults.Stream(stream => AuditRecords.WriteLogFileAsync(stream, records, CancellationToken.None), "application/json", name);
    }

    /// <summary>The events of the lookup's filters (time range, attributes); throws the validation failures gathered so far and its own.</summary>
    private static IQueryable<StoredEvent> Filter(AuditDbContext db, Guid? areaId, LookupRequest request, TimeProvider clock, AuditOptions options,
        List<ValidationFailure> failures)
    {
        var now = clock.GetUtcNow();
        var start = request.StartTime ?? now - options.Retention;
        var end = request.EndTime ?? now;
        if (start > end)
        {
            failures.Add(new ValidationFailure(nameof(LookupRequest.StartTime), "startTime must not be after endTime."));
        }

        if (failures.Count > 0)
        {
            throw new ValidationException(failures);
        }

        var query = db.Events.AsNoTracking().Where(e => e.EventTime >= start && e.EventTime <= end);
        if (areaId is { } area)
        {
            query = query.Where(e => e.AreaId == area);
        }

        if (request.EventName is { } eventName)
        {
            query = query.Where(e => e.EventName == eventName);
        }

        if (request.EventSource is { } eventSource)
        {
            query = query.Where(e => e.EventSource == eventSource);
        }

        if (request.UserName is { } userName)
        {
            query = query.Where(e => e.UserName == userName);
        }

        if (request.AccessKeyId is { } accessKeyId)
        {
            query = query.Where(e => e.AccessKeyId == accessKeyId);
        }

        if (request.ResourceType is { } resourceType)
        {
            query = query.Where(e => e.ResourceTypes.Contains(resourceType));
        }

        if (request.ResourceName is { } resourceName)
        {
            query = query.Where(e => e.ResourceNames.Contains(resourceName));
        }

        if (request.ReadOnly is { } readOnly)
        {
            query = query.Where(e => e.ReadOnly == readOnly);
        }

        if (request.EventId is { } eventId)
        {
            query = query.Where(e => e.EventId == eventId);
        }

        return query;
    }

    private static bool Fail(List<ValidationFailure> failures, string property, string message)
    {
        failures.Add(new ValidationFailure(property, message));
        return false;
    }

    private static async Task<Ok<TrailValidationReport>> ValidateAreaTrail(Guid areaId, DateTimeOffset? startTime, DateTimeOffset? endTime,
        TrailValidator validator, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (start, end) = ValidationRange(startTime, endTime, clock);
        return TypedResults.Ok(await validator.ValidateAsync(null, AreaKeys.Of(areaId), start, end, cancellationToken));
    }

    private static async Task<Ok<TrailValidationReport>> ValidatePlatformTrail(string areaId, DateTimeOffset? startTime, DateTimeOffset? endTime,
        TrailValidator validator, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!AreaKeys.TryParse(areaId, out var areaKey))
        {
            throw new ValidationException([new ValidationFailure("areaId", "areaId must be an area id or 'platform' (calls outside any area).")]);
        }

        var (start, end) = ValidationRange(startTime, endTime, clock);
        return TypedResults.Ok(await validator.ValidateAsync(null, areaKey, start, end, cancellationToken));
    }

    /// <summary>The longest range one validation walks (hour by hour, one digest each): a month.</summary>
    public static readonly TimeSpan MaxValidationRange = TimeSpan.FromDays(31);

    private static readonly DateTimeOffset TrailEpoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The range to validate: the last day unless given; at most <see cref="MaxValidationRange"/> long.</summary>
    internal static (DateTimeOffset Start, DateTimeOffset End) ValidationRange(DateTimeOffset? startTime, DateTimeOffset? endTime, TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        if (endTime > now.AddDays(1))
        {
            throw new ValidationException([new ValidationFailure("endTime", "endTime must not be more than a day in the future; leave it out to validate up to now.")]);
        }

        if (endTime < TrailEpoch)
        {
            throw new ValidationException([new ValidationFailure("endTime", $"endTime must be after {TrailEpoch:yyyy-MM-dd}: no trail is older.")]);
        }

        var end = endTime ?? now;
        if (startTime < end - MaxValidationRange)
        {
            throw new ValidationException([new ValidationFailure("startTime",
                $"One validation covers at most {MaxValidationRange.TotalDays:0} days: give a startTime no earlier than endTime minus {MaxValidationRange.TotalDays:0} days, and validate longer periods in several calls.")]);
        }

        var start = startTime ?? end.AddDays(-1);
        if (start > end)
        {
            throw new ValidationException([new ValidationFailure("startTime", "startTime must not be after endTime.")]);
        }

        return (start, end);
    }

    private static async Task<Ok<List<PublicKey>>> ListPublicKeys(AuditDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(await db.SigningKeys.AsNoTracking().OrderBy(k => k.FirstUsed)
            .Select(k => new PublicKey(k.Fingerprint, k.PublicKeyPem, k.FirstUsed))
            .ToListAsync(cancellationToken));
}
