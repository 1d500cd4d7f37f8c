using CallLogs.Export.Data;
using CallLogs.Export.Extensions;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Export.Apis;

/// <summary>What a profile's export is doing: last hour written, objects, hours pending, lag, last error.</summary>
public static class ExportStatusApi
{
    public sealed record ObjectStatus(string Key, DateTimeOffset Hour, DateTimeOffset ExtractionTime, bool Uploaded, int Records, long Bytes, string? Sha256);

    public sealed record ProfileExportStatus(Guid ProfileId, Guid AreaId, bool Enabled, DateTimeOffset? LastHourExported, int HoursPending,
        double? LagSeconds, string? LastError, IReadOnlyList<ObjectStatus> Objects);

    public static IEndpointRouteBuilder MapExportStatusApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/areas/{areaId:guid}/export-profiles/{profileId:guid}/export-status", GetExportStatus)
            .WithName("GetExportStatus").WithTags("Export").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        app.MapGet("/api/ops/export-status", ListExportStatus)
            .WithName("ListExportStatus").WithTags("Operations").RequireRoles(Roles.Operator, Roles.PlatformAdmin);
        return app;
    }

    public static async Task<Ok<ProfileExportStatus>> GetExportStatus(Guid areaId, Guid profileId, ExportDbContext db,
        IOptions<ExportOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var profile = await db.Profiles.AsNoTracking().FirstOrDefaultAsync(p => p.Id == profileId && p.AreaId == areaId, cancellationToken);
        return profile is null
            ? throw ProblemException.NotFound("Export profile not found.", "The export service knows no profile with this id in this area (yet).")
            : TypedResults.Ok(await StatusAsync(db, profile, options.Value, clock.GetUtcNow(), 200, cancellationToken));
    }

    public static async Task<Ok<List<ProfileExportStatus>>> ListExportStatus(ExportDbContext db, IOptions<ExportOptions> options, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var profiles = await db.Profiles.AsNoTracking().Where(p => !p.Deleted).ToListAsync(cancellationToken);
        var list = new List<ProfileExportStatus>();
        foreach (var profile in profiles)
        {
            list.Add(await StatusAsync(db, profile, options.Value, clock.GetUtcNow(), 1, cancellationToken));
        }

        return TypedResults.Ok(list);
    }

    private static async Task<ProfileExportStatus> StatusAsync(ExportDbContext db, ProfileCopy profile, ExportOptions options, DateTimeOffset now, int objects,
        CancellationToken cancellationToken)
    {
        var recent = await db.Objects.AsNoTracking().Where(o => o.ProfileId == profile.Id).OrderByDescending(o => o.Id).Take(objects).ToListAsync(cancellationToken);
        var lastExported = await db.Objects.Where(o => o.ProfileId == profile.Id && o.Uploaded).MaxAsync(o => (DateTimeOffset?)o.HourStart, cancellationToken);
        var pending = await db.Objects.Where(o => o.ProfileId == profile.Id && !o.Uploaded && o.AbandonedAt == null).Select(o => o.HourStart).Distinct().CountAsync(cancellationToken);
        var lastError = profile.PlanningError ?? await db.Objects.Where(o => o.ProfileId == profile.Id && !o.Uploaded && o.LastError != null)
            .OrderByDescending(o => o.Id).Select(o => o.LastError).FirstOrDefaultAsync(cancellationToken);
        // Lag: how far the last exported hour's end (plus grace) lies behind now.
        var lag = lastExported is { } hour ? Math.Max(0, (now - hour.AddHours(1) - options.GracePeriod).TotalSeconds) : (double?)null;
        return new ProfileExportStatus(profile.Id, profile.AreaId, profile.Enabled, lastExported, pending, lag, lastError,
            recent.Select(o => new ObjectStatus(o.Key, o.HourStart, o.ExtractionTime, o.Uploaded, o.RecordCount, o.Bytes, o.Sha256)).ToList());
    }
}
