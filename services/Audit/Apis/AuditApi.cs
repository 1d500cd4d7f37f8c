using System.Text.Json.Nodes;
using CallLogs.Audit.Data;
using CallLogs.Audit.Delivery;
using CallLogs.Audit.Domain;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Errors;
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
        area.MapGet("/events", LookupAreaEvents).WithName("LookupAuditEvents").RequireAreaRole(Roles.AreaAdmin)
            .WithValidationRuleSets(LookupRequestValidator.Lookup);
        area.MapGet("/events/download", DownloadAreaEvents).WithName("DownloadAuditEvents").RequireAreaRole(Roles.AreaAdmin)
            .WithValidationRuleSets(LookupRequestValidator.Download);
        area.MapGet("/validation", ValidateAreaTrail).WithName("ValidateAuditTrail").RequireAreaRole(Roles.AreaAdmin);

        var platform = app.MapGroup("/api/audit").WithTags("Audit");
        platform.MapGet("/events", LookupAllEvents).WithName("LookupAllAuditEvents").RequirePlatformAdmin()
            .WithValidationRuleSets(LookupRequestValidator.Lookup);
        platform.MapGet("/events/download", DownloadAllEvents).WithName("DownloadAllAuditEvents").RequirePlatformAdmin()
            .WithValidationRuleSets(LookupRequestValidator.Download);
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
        string? NextToken)
    {
        /// <summary>The time range asked for: the retention period up to now unless given.</summary>
        public (DateTimeOffset Start, DateTimeOffset End) Range(DateTimeOffset now, TimeSpan retention) => (StartTime ?? now - retention, EndTime ?? now);
    }

    /// <summary>The time range of a trail validation (<see cref="ValidationRange"/>).</summary>
    public sealed record ValidationRangeQuery(DateTimeOffset? StartTime, DateTimeOffset? EndTime);

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
        var query = Filter(db, areaId, request, clock, options);
        if (request.NextToken is not null && ContinuationToken.TryDecode(request.NextToken, out var token))
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
        var csv = format?.ToLowerInvariant() switch
        {
            null or "json" => false,
            "csv" => true,
            _ => throw ProblemException.Invalid("format", "format must be json or csv."),
        };
        var records = Filter(db, areaId, request, clock, options)
            .OrderByDescending(e => e.EventTime).ThenByDescending(e => e.Seq)
            .Select(e => e.Record)
            .AsAsyncEnumerable();
        var name = $"audit-events-{clock.GetUtcNow():yyyyMMdd'T'HHmmss'Z'}.{(csv ? "csv" : "json")}";
        return csv
            ? TypedResults.Stream(stream => EventCsv.WriteAsync(stream, records, CancellationToken.None), "text/csv; charset=utf-8", name)
            : TypedResults.Stream(stream => AuditRecords.WriteLogFileAsync(stream, records, CancellationToken.None), "application/json", name);
    }

    /// <summary>The events of the lookup's filters (time range, attributes).</summary>
    private static IQueryable<StoredEvent> Filter(AuditDbContext db, Guid? areaId, LookupRequest request, TimeProvider clock, AuditOptions options)
    {
        var (start, end) = request.Range(clock.GetUtcNow(), options.Retention);
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

    private static async Task<Ok<TrailValidationReport>> ValidateAreaTrail(Guid areaId, [AsParameters] ValidationRangeQuery range,
        TrailValidator validator, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (start, end) = ValidationRange(range.StartTime, range.EndTime, clock);
        return TypedResults.Ok(await validator.ValidateAsync(null, AreaKeys.Of(areaId), start, end, cancellationToken));
    }

    private static async Task<Ok<TrailValidationReport>> ValidatePlatformTrail(string areaId, [AsParameters] ValidationRangeQuery range,
        TrailValidator validator, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!AreaKeys.TryParse(areaId, out var areaKey))
        {
            throw ProblemException.Invalid("areaId", "areaId must be an area id or 'platform' (calls outside any area).");
        }

        var (start, end) = ValidationRange(range.StartTime, range.EndTime, clock);
        return TypedResults.Ok(await validator.ValidateAsync(null, areaKey, start, end, cancellationToken));
    }

    /// <summary>The longest range one validation walks (hour by hour, one digest each): a month.</summary>
    public static readonly TimeSpan MaxValidationRange = TimeSpan.FromDays(31);

    private static readonly DateTimeOffset TrailEpoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The range to validate: the last day unless given; at most <see cref="MaxValidationRange"/> long. Throws the
    /// <see cref="RangeFailure"/> (which the request's validator has already refused at the edge).
    /// </summary>
    internal static (DateTimeOffset Start, DateTimeOffset End) ValidationRange(DateTimeOffset? startTime, DateTimeOffset? endTime, TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        if (RangeFailure(startTime, endTime, now) is { } failure)
        {
            throw new ValidationException([failure]);
        }

        var end = endTime ?? now;
        return (startTime ?? end.AddDays(-1), end);
    }

    /// <summary>What is wrong with a validation range (the first rule it breaks), or null.</summary>
    internal static ValidationFailure? RangeFailure(DateTimeOffset? startTime, DateTimeOffset? endTime, DateTimeOffset now)
    {
        if (endTime > now.AddDays(1))
        {
            return new ValidationFailure("endTime", "endTime must not be more than a day in the future; leave it out to validate up to now.");
        }

        if (endTime < TrailEpoch)
        {
            return new ValidationFailure("endTime", $"endTime must be after {TrailEpoch:yyyy-MM-dd}: no trail is older.");
        }

        var end = endTime ?? now;
        if (startTime < end - MaxValidationRange)
        {
            return new ValidationFailure("startTime",
                $"One validation covers at most {MaxValidationRange.TotalDays:0} days: give a startTime no earlier than endTime minus {MaxValidationRange.TotalDays:0} days, and validate longer periods in several calls.");
        }

        return (startTime ?? end.AddDays(-1)) > end ? new ValidationFailure("startTime", "startTime must not be after endTime.") : null;
    }

    private static async Task<Ok<List<PublicKey>>> ListPublicKeys(AuditDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(await db.SigningKeys.AsNoTracking().OrderBy(k => k.FirstUsed)
            .Select(k => new PublicKey(k.Fingerprint, k.PublicKeyPem, k.FirstUsed))
            .ToListAsync(cancellationToken));
}
