using System.Security.Claims;
using CallLogs.Contracts;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Errors;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Export.Apis;

/// <summary>
/// Re-exporting: the objects of a profile's hours in [from, to) are written again, to the same keys with the same
/// records (so nothing is duplicated), with the profile's current masking. Only hours whose records are still staged
/// (within the maximum lateness) can be written again. Progress is shown like every long operation.
/// </summary>
public static class ReExportApi
{
    public sealed record ReExportRequest(DateTimeOffset? From, DateTimeOffset? To);

    /// <summary>Whole hours, <c>from</c> before <c>to</c>, starting no earlier than the records still staged (the maximum lateness).</summary>
    public sealed class ReExportRequestValidator : AbstractValidator<ReExportRequest>
    {
        public ReExportRequestValidator(IOptions<ExportOptions> options, TimeProvider clock)
        {
            RuleFor(r => r.From).Custom((from, context) =>
            {
                var oldest = ExportRules.HourOf(clock.GetUtcNow() - options.Value.MaxLateness);
                if (from is null || from != ExportRules.HourOf(from.Value))
                {
                    context.AddFailure(new ValidationFailure("from", "Give the first hour to write again, on the hour (for example 2026-11-20T07:00:00Z)."));
                }
                else if (from < oldest)
                {
                    context.AddFailure(new ValidationFailure("from",
                        $"Records are kept for re-export for {options.Value.MaxLateness.TotalDays:0.#} days: start at {oldest:O} or later."));
                }
            });
            RuleFor(r => r.To).Must((r, to) => to is { } end && end == ExportRules.HourOf(end) && !(r.From is { } start && end <= start))
                .OverridePropertyName("to").WithMessage("Give the end (exclusive), on the hour and after from.");
        }
    }

    public static IEndpointRouteBuilder MapReExportApi(this IEndpointRouteBuilder app)
    {
        var profile = app.MapGroup("/api/areas/{areaId:guid}/export-profiles/{profileId:guid}/re-exports").WithTags("Export");
        profile.MapPost("", StartReExport).WithName("StartReExport").RequireAreaRole(Roles.AreaAdmin);
        profile.MapGet("/{reExportId:guid}", GetReExport).WithName("GetReExport").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        app.MapGet("/api/ops/operations", ListOperations).WithName("ListExportOperations").WithTags("Operations").RequireRoles(Roles.Operator, Roles.PlatformAdmin);
        return app;
    }

    public static async Task<Accepted<OperationStatus>> StartReExport(Guid areaId, Guid profileId, ReExportRequest request,
        ExportDbContext db, TimeProvider clock, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (!await db.Profiles.AnyAsync(p => p.Id == profileId && p.AreaId == areaId && !p.Deleted, cancellationToken))
        {
            throw ProblemException.NotFound("Export profile not found.", "The export service knows no live profile with this id in this area.");
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var reExport = new ReExport
        {
            Id = Guid.CreateVersion7(), AreaId = areaId, ProfileId = profileId, From = request.From!.Value, To = request.To!.Value, StartedAt = now,
            StartedBy = user.FindFirstValue(CallLogsClaims.Name) ?? user.PrincipalId() ?? "unknown",
        };
        reExport.Objects = await db.Objects
            .Where(o => o.ProfileId == profileId && o.Uploaded && o.HourStart >= reExport.From && o.HourStart < reExport.To)
            .ExecuteUpdateAsync(u => u.SetProperty(o => o.Uploaded, false).SetProperty(o => o.Attempts, 0).SetProperty(o => o.NextAttemptAt, (DateTimeOffset?)null)
                .SetProperty(o => o.PendingSince, now)
                .SetProperty(o => o.LastError, (string?)null).SetProperty(o => o.ReExportId, reExport.Id), cancellationToken);
        db.ReExports.Add(reExport);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.Accepted($"/api/areas/{areaId}/export-profiles/{profileId}/re-exports/{reExport.Id}", await StatusAsync(db, reExport, cancellationToken));
    }

    public static async Task<Ok<OperationStatus>> GetReExport(Guid areaId, Guid profileId, Guid reExportId, ExportDbContext db,
        CancellationToken cancellationToken) =>
        await db.ReExports.AsNoTracking().FirstOrDefaultAsync(r => r.Id == reExportId && r.AreaId == areaId && r.ProfileId == profileId, cancellationToken) is { } found
            ? TypedResults.Ok(await StatusAsync(db, found, cancellationToken))
            : throw ProblemException.NotFound("Re-export not found.", "This profile has no re-export with this id.");

    public static async Task<Ok<List<OperationStatus>>> ListOperations(ExportDbContext db, CancellationToken cancellationToken)
    {
        var list = new List<OperationStatus>();
        foreach (var reExport in await db.ReExports.AsNoTracking().OrderByDescending(r => r.StartedAt).Take(50).ToListAsync(cancellationToken))
        {
            list.Add(await StatusAsync(db, reExport, cancellationToken));
        }

        return TypedResults.Ok(list);
    }

    /// <summary>
    /// Running until every object it asked for is written again (an object re-exported since by a newer request counts
    /// as done); failed when some were given up (the profile deleted meanwhile, or S3 refusing them for too long).
    /// </summary>
    private static async Task<OperationStatus> StatusAsync(ExportDbContext db, ReExport r, CancellationToken cancellationToken)
    {
        var open = await db.Objects.Where(o => o.ReExportId == r.Id && !o.Uploaded)
            .GroupBy(o => o.AbandonedAt != null).Select(g => new { GivenUp = g.Key, Count = g.Count(), Error = g.Max(o => o.LastError) })
            .ToListAsync(cancellationToken);
        var pending = open.FirstOrDefault(g => !g.GivenUp);
        var givenUp = open.FirstOrDefault(g => g.GivenUp);
        var lastWritten = await db.Objects.Where(o => o.ReExportId == r.Id && o.Uploaded).MaxAsync(o => o.UploadedAt, cancellationToken);
        var lastGivenUp = await db.Objects.Where(o => o.ReExportId == r.Id && !o.Uploaded).MaxAsync(o => o.AbandonedAt, cancellationToken);
        var last = lastGivenUp > lastWritten || lastWritten is null ? lastGivenUp : lastWritten;
        var done = r.Objects - (pending?.Count ?? 0) - (givenUp?.Count ?? 0);
        var finished = pending is null;
        var state = !finished ? "running" : givenUp is null ? "succeeded" : "failed";
        var message = state switch
        {
            "running" => pending!.Error,
            "succeeded" => $"Wrote {r.Objects} objects of {r.From:yyyy-MM-dd HH:mm}–{r.To:yyyy-MM-dd HH:mm} UTC again",
            _ => $"Wrote {done} of {r.Objects} objects again; {givenUp!.Count} not: {givenUp.Error}",
        };
        return new OperationStatus(r.Id, "export", "export-reexport", r.AreaId, r.StartedBy, r.StartedAt, last ?? r.StartedAt, finished ? last ?? r.StartedAt : null,
            state, done, r.Objects, "objects", message);
    }
}
