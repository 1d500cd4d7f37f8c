using CallLogs.Audit.Data;
using CallLogs.Audit.Delivery;
using CallLogs.Audit.Domain;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.ServiceDefaults.Storage;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Audit.Apis;

/// <summary>
/// An area's own trail (at most one per area): the area's events delivered as log files to the area's bucket, with a
/// signed digest chain of its own that validates like the platform's. Area admins create, view, change, stop, start
/// and delete it. The destination follows the rules of export profiles: <c>bucketName</c> or
/// <c>bucketName/path</c>, optionally written with SSE-KMS under a role the service assumes with an external id.
/// </summary>
public static class AreaTrailApi
{
    public sealed record TrailEncryption(bool Enabled, string? IamRoleArn = null, string? CmkKeyArn = null, string? IamRoleExternalId = null);

    /// <summary>Create: <see cref="S3Bucket"/> is required. Update: what is given replaces, what is left out stays.</summary>
    public sealed record TrailRequest(string? S3Bucket, TrailEncryption? Encryption);

    /// <summary>The external id is shown masked: it is sent to STS, never back to people.</summary>
    public sealed record TrailResponse(
        Guid Id,
        Guid AreaId,
        string TrailArn,
        string S3Bucket,
        TrailEncryption Encryption,
        bool IsLogging,
        DateTimeOffset CreatedAt,
        DateTimeOffset UpdatedAt,
        DateTimeOffset? StartedLoggingAt,
        DateTimeOffset? StoppedLoggingAt,
        DateTimeOffset? LatestDeliveryTime,
        DateTimeOffset? LatestDeliveryAttemptTime,
        string? LatestDeliveryError,
        DateTimeOffset? LatestDigestDeliveryTime,
        string? LatestDigestDeliveryError,
        int LogFilesWaiting);

    public const string ResourceKind = "AuditTrail";

    public static IEndpointRouteBuilder MapAreaTrailApi(this IEndpointRouteBuilder app)
    {
        var trail = app.MapGroup("/api/areas/{areaId:guid}/audit/trail").WithTags("Audit");
        trail.MapPost("/", CreateTrail).WithName("CreateTrail").RequireAreaRole(Roles.AreaAdmin).RecordsResource(ResourceKind)
            .WithValidationRuleSets(TrailRequestValidator.Create);
        trail.MapGet("/", GetTrail).WithName("GetTrail").RequireAreaRole(Roles.AreaAdmin);
        trail.MapPatch("/", UpdateTrail).WithName("UpdateTrail").RequireAreaRole(Roles.AreaAdmin).RecordsResource(ResourceKind);
        trail.MapDelete("/", DeleteTrail).WithName("DeleteTrail").RequireAreaRole(Roles.AreaAdmin);
        trail.MapPost("/start", StartLogging).WithName("StartLogging").RequireAreaRole(Roles.AreaAdmin).RecordsResource(ResourceKind);
        trail.MapPost("/stop", StopLogging).WithName("StopLogging").RequireAreaRole(Roles.AreaAdmin).RecordsResource(ResourceKind);
        trail.MapGet("/validation", ValidateTrail).WithName("ValidateTrail").RequireAreaRole(Roles.AreaAdmin);
        return app;
    }

    public static async Task<Created<TrailResponse>> CreateTrail(Guid areaId, TrailRequest request, AuditDbContext db, TimeProvider clock,
        IOptions<AuditOptions> options, CancellationToken cancellationToken)
    {
        if (await db.Trails.AsNoTracking().AnyAsync(t => t.AreaId == areaId, cancellationToken))
        {
            throw TrailExists();
        }

        var now = clock.GetUtcNow();
        var (bucket, prefix) = Split(request.S3Bucket!);
        var trail = new AreaTrail
        {
            Id = Guid.CreateVersion7(),
            AreaId = areaId,
            Bucket = bucket,
            Prefix = prefix,
            IsLogging = true,
            CreatedAt = now,
            UpdatedAt = now,
            StartedLoggingAt = now,
        };
        SetEncryption(trail, request.Encryption);
        db.Trails.Add(trail);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            throw TrailExists();
        }

        return TypedResults.Created($"/api/areas/{areaId}/audit/trail", await ToResponseAsync(db, trail, options.Value, cancellationToken));
    }

    public static async Task<Ok<TrailResponse>> GetTrail(Guid areaId, AuditDbContext db, IOptions<AuditOptions> options, CancellationToken cancellationToken) =>
        TypedResults.Ok(await ToResponseAsync(db, await FindAsync(db, areaId, cancellationToken), options.Value, cancellationToken));

    public static async Task<Ok<TrailResponse>> UpdateTrail(Guid areaId, TrailRequest request, AuditDbContext db, TimeProvider clock,
        IOptions<AuditOptions> options, CancellationToken cancellationToken)
    {
        var trail = await FindAsync(db, areaId, cancellationToken);
        if (request.S3Bucket is { } destination)
        {
            // Files already assigned keep the bucket and key they were given; new ones go to the new destination.
            (trail.Bucket, trail.Prefix) = Split(destination);
        }

        if (request.Encryption is { } encryption)
        {
            SetEncryption(trail, encryption);
        }

        trail.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(await ToResponseAsync(db, trail, options.Value, cancellationToken));
    }

    public static Task<Ok<TrailResponse>> StartLogging(Guid areaId, AuditDbContext db, TimeProvider clock, IOptions<AuditOptions> options,
        CancellationToken cancellationToken) => SetLoggingAsync(areaId, true, db, clock, options.Value, cancellationToken);

    public static Task<Ok<TrailResponse>> StopLogging(Guid areaId, AuditDbContext db, TimeProvider clock, IOptions<AuditOptions> options,
        CancellationToken cancellationToken) => SetLoggingAsync(areaId, false, db, clock, options.Value, cancellationToken);

    /// <summary>
    /// Deletes the trail: events not yet in one of its files are no longer delivered there. What it delivered stays in
    /// the area's bucket, and every event stays in the platform trail.
    /// </summary>
    public static async Task<NoContent> DeleteTrail(Guid areaId, AuditDbContext db, CancellationToken cancellationToken)
    {
        var trail = await FindAsync(db, areaId, cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.Events.Where(e => e.AreaTrailId == trail.Id && (e.AreaLogFileId == null
                || db.LogFiles.Any(f => f.Id == e.AreaLogFileId && f.UploadedAt == null)))
            .ExecuteUpdateAsync(s => s.SetProperty(e => e.AreaTrailId, (Guid?)null).SetProperty(e => e.AreaLogFileId, (long?)null), cancellationToken);
        await db.LogFiles.Where(f => f.TrailId == trail.Id && f.UploadedAt == null).ExecuteDeleteAsync(cancellationToken);
        db.Trails.Remove(trail);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    public static async Task<Ok<TrailValidationReport>> ValidateTrail(Guid areaId, [AsParameters] AuditApi.ValidationRangeQuery range,
        AuditDbContext db, TrailValidator validator, TimeProvider clock, CancellationToken cancellationToken)
    {
        var trail = await FindAsync(db, areaId, cancellationToken);
        var (start, end) = AuditApi.ValidationRange(range.StartTime, range.EndTime, clock);
        return TypedResults.Ok(await validator.ValidateAsync(trail, AreaKeys.Of(areaId), start, end, cancellationToken));
    }

    private static async Task<Ok<TrailResponse>> SetLoggingAsync(Guid areaId, bool logging, AuditDbContext db, TimeProvider clock, AuditOptions options,
        CancellationToken cancellationToken)
    {
        var trail = await FindAsync(db, areaId, cancellationToken);
        if (trail.IsLogging != logging)
        {
            var now = clock.GetUtcNow();
            trail.IsLogging = logging;
            trail.UpdatedAt = now;
            if (logging)
            {
                trail.StartedLoggingAt = now;
            }
            else
            {
                trail.StoppedLoggingAt = now;
            }

            await db.SaveChangesAsync(cancellationToken);
        }

        return TypedResults.Ok(await ToResponseAsync(db, trail, options, cancellationToken));
    }

    private static async Task<AreaTrail> FindAsync(AuditDbContext db, Guid areaId, CancellationToken cancellationToken) =>
        await db.Trails.FirstOrDefaultAsync(t => t.AreaId == areaId, cancellationToken)
        ?? throw ProblemException.NotFound("This area has no trail of its own. Create it with POST /api/areas/{areaId}/audit/trail; every event is in the platform trail meanwhile.");

    private static ProblemException TrailExists() =>
        ProblemException.Conflict("This area already has its trail; an area has one. Use PATCH to change its destination, or DELETE it first.");

    private static void SetEncryption(AreaTrail trail, TrailEncryption? encryption)
    {
        var enabled = encryption is { Enabled: true };
        trail.IamRoleArn = enabled ? encryption!.IamRoleArn!.Trim() : null;
        trail.CmkKeyArn = enabled ? encryption!.CmkKeyArn!.Trim() : null;
        trail.IamRoleExternalId = enabled ? encryption!.IamRoleExternalId : null;
    }

    private static (string Bucket, string Prefix) Split(string destination)
    {
        var parts = destination.Trim().Split('/', 2);
        return (parts[0], parts.Length > 1 ? parts[1] : "");
    }

    private static async Task<TrailResponse> ToResponseAsync(AuditDbContext db, AreaTrail t, AuditOptions options, CancellationToken cancellationToken)
    {
        var waiting = await db.LogFiles.CountAsync(f => f.TrailId == t.Id && f.UploadedAt == null, cancellationToken);
        return new TrailResponse(
            t.Id,
            t.AreaId,
            AuditArns.Resource(ResourceKind, "audit", options.Region, t.AreaId.ToString("D"), t.Id.ToString("D")),
            t.Prefix.Length == 0 ? t.Bucket : $"{t.Bucket}/{t.Prefix}",
            new TrailEncryption(t.Encrypts, t.IamRoleArn, t.CmkKeyArn, t.IamRoleExternalId is null ? null : Masking.Mask(t.IamRoleExternalId, 2)),
            t.IsLogging,
            t.CreatedAt,
            t.UpdatedAt,
            t.StartedLoggingAt,
            t.StoppedLoggingAt,
            t.LatestDeliveryAt,
            t.LatestDeliveryAttemptAt,
            t.LatestDeliveryError,
            t.LatestDigestAt,
            t.LatestDigestError,
            waiting);
    }
}

/// <summary>
/// A trail's destination and encryption, checked with the rules export profiles use (<see cref="S3DestinationRules"/>).
/// The platform trail's bucket is refused: an area's files must not mix with, or overwrite, the platform's.
/// </summary>
public sealed class TrailRequestValidator : AbstractValidator<AreaTrailApi.TrailRequest>
{
    public const string Create = "create";

    public TrailRequestValidator(IOptions<AuditOptions> options)
    {
        RuleSet(Create, () => RuleFor(r => r.S3Bucket).NotNull().WithMessage("Give the bucket to deliver to, e.g. 's3Bucket': 'my-audit-bucket' or 'my-audit-bucket/calllogs'."));
        RuleFor(r => r.S3Bucket).Custom((value, context) =>
        {
            if (value is null)
            {
                return;
            }

            if (S3DestinationRules.BucketPathError(value.Trim()) is { } error)
            {
                context.AddFailure(new ValidationFailure("s3Bucket", error));
            }
            else if (string.Equals(value.Trim().Split('/', 2)[0], options.Value.Bucket, StringComparison.Ordinal))
            {
                context.AddFailure(new ValidationFailure("s3Bucket", "This is the platform trail's bucket; give a bucket of your own."));
            }
        });
        RuleFor(r => r.Encryption).Custom((encryption, context) =>
        {
            if (encryption is not { Enabled: true })
            {
                return;
            }

            if (S3DestinationRules.RoleArnError(encryption.IamRoleArn?.Trim()) is { } role)
            {
                context.AddFailure(new ValidationFailure("encryption.iamRoleArn", role));
            }

            if (S3DestinationRules.KmsKeyArnError(encryption.CmkKeyArn?.Trim()) is { } key)
            {
                context.AddFailure(new ValidationFailure("encryption.cmkKeyArn", key));
            }

            if (S3DestinationRules.ExternalIdError(encryption.IamRoleExternalId) is { } externalId)
            {
                context.AddFailure(new ValidationFailure("encryption.iamRoleExternalId", externalId));
            }
        });
    }
}
