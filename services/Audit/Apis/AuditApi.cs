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
/// Event history lookup (any combination of attributes, ANDed; newest first; pages of 1 to 50 with a continuation
/// token), the public keys that sign digests, and validation of the delivered trail. Area admins see their area;
/// platform admins every area.
/// </summary>
public static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var area = app.MapGroup("/api/areas/{areaId:guid}/audit").WithTags("Audit");
        area.MapGet("/events", LookupAreaEvents).WithName("LookupAuditEvents").RequireAreaRole(Roles.AreaAdmin);
        area.MapGet("/validation", ValidateAreaTrail).WithName("ValidateAuditTrail").RequireAreaRole(Roles.AreaAdmin);

        var platform = app.MapGroup("/api/audit").WithTags("Audit");
        platform.MapGet("/events", LookupAllEvents).WithName("LookupAllAuditEvents").RequirePlatformAdmin();
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
        var now = clock.GetUtcNow();
        var start = request.StartTime ?? now - options.Retention;
        var end = request.EndTime ?? now;
        var max = request.MaxResults ?? DefaultMaxResults;
        var failures = new List<ValidationFailure>();
        if (max is < 1 or > 50)
        {
            failures.Add(new ValidationFailure(nameof(LookupRequest.MaxResults), "maxResults must be between 1 and 50."));
        }

        if (start > end)
        {
            failures.Add(new ValidationFailure(nameof(LookupRequest.StartTime), "startTime must not be after endTime."));
        }

        ContinuationToken token = default;
        if (request.NextToken is not null && !ContinuationToken.TryDecode(request.NextToken, out token))
        {
            failures.Add(new ValidationFailure(nameof(LookupRequest.NextToken), "nextToken is not one this API returned; send the nextToken of the previous page, or none for the first page."));
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

    private static async Task<Ok<TrailValidationReport>> ValidateAreaTrail(Guid areaId, DateTimeOffset? startTime, DateTimeOffset? endTime,
        TrailValidator validator, TimeProvider clock, CancellationToken cancellationToken) =>
        TypedResults.Ok(await ValidateAsync(AreaKeys.Of(areaId), startTime, endTime, validator, clock, cancellationToken));

    private static async Task<Ok<TrailValidationReport>> ValidatePlatformTrail(string areaId, DateTimeOffset? startTime, DateTimeOffset? endTime,
        TrailValidator validator, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!AreaKeys.TryParse(areaId, out var areaKey))
        {
            throw new ValidationException([new ValidationFailure("areaId", "areaId must be an area id or 'platform' (calls outside any area).")]);
        }

        return TypedResults.Ok(await ValidateAsync(areaKey, startTime, endTime, validator, clock, cancellationToken));
    }

    private static Task<TrailValidationReport> ValidateAsync(string areaKey, DateTimeOffset? startTime, DateTimeOffset? endTime,
        TrailValidator validator, TimeProvider clock, CancellationToken cancellationToken)
    {
        var end = endTime ?? clock.GetUtcNow();
        var start = startTime ?? end.AddDays(-1);
        if (start > end)
        {
            throw new ValidationException([new ValidationFailure("startTime", "startTime must not be after endTime.")]);
        }

        return validator.ValidateAsync(areaKey, start, end, cancellationToken);
    }

    private static async Task<Ok<List<PublicKey>>> ListPublicKeys(AuditDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(await db.SigningKeys.AsNoTracking().OrderBy(k => k.FirstUsed)
            .Select(k => new PublicKey(k.Fingerprint, k.PublicKeyPem, k.FirstUsed))
            .ToListAsync(cancellationToken));
}
