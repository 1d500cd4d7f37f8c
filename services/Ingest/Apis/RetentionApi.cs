using CallLogs.Ingest.Data;
using CallLogs.Ingest.Extensions;
using CallLogs.ServiceDefaults.Auth;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Ingest.Apis;

/// <summary>
/// How long an area's call records are kept (ingest administration: area admins), from 1 day to
/// <see cref="IngestOptions.MaxRetentionDays"/>. A change applies to the records already stored too: the retention job
/// moves them to their new expiry day (deleting those now past it) at its next pass.
/// </summary>
public static class RetentionApi
{
    public const int MaxDays = IngestOptions.MaxRetentionDays;

    public sealed record RetentionSetting(int? Days);

    public sealed class RetentionSettingValidator : AbstractValidator<RetentionSetting>
    {
        public RetentionSettingValidator() =>
            RuleFor(r => r.Days).Must(days => days is >= 1 and <= MaxDays)
                .WithMessage($"days must be a whole number of days from 1 to {MaxDays} (about two years).");
    }

    public sealed record RetentionResponse(Guid AreaId, int Days, bool IsDefault);

    public static IEndpointRouteBuilder MapRetentionApi(this IEndpointRouteBuilder app)
    {
        var retention = app.MapGroup("/api/areas/{areaId:guid}/call-records/retention").WithTags("Call records");
        retention.MapGet("/", GetRetention).WithName("GetCallRecordRetention").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        retention.MapPut("/", SetRetention).WithName("SetCallRecordRetention").RequireAreaRole(Roles.AreaAdmin);
        return app;
    }

    public static async Task<Ok<RetentionResponse>> GetRetention(Guid areaId, IngestDbContext db, IOptions<IngestOptions> options, CancellationToken cancellationToken)
    {
        var setting = await db.AreaRetentions.AsNoTracking().FirstOrDefaultAsync(a => a.AreaId == areaId, cancellationToken);
        return TypedResults.Ok(new RetentionResponse(areaId, setting?.Days ?? options.Value.DefaultRetentionDays, setting is null));
    }

    public static async Task<Ok<RetentionResponse>> SetRetention(Guid areaId, RetentionSetting request, IngestDbContext db,
        AreaRetentionCache cache, TimeProvider clock, CancellationToken cancellationToken)
    {
        var setting = await db.AreaRetentions.FirstOrDefaultAsync(a => a.AreaId == areaId, cancellationToken);
        if (setting is null)
        {
            db.AreaRetentions.Add(setting = new AreaRetention { AreaId = areaId });
        }

        setting.RehomePending |= setting.Days != request.Days!.Value;
        setting.Days = request.Days.Value;
        setting.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        cache.Forget(areaId);
        return TypedResults.Ok(new RetentionResponse(areaId, setting.Days, false));
    }
}
