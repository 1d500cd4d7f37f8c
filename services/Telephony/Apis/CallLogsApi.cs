using System.Security.Claims;
using System.Text;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.Telephony.Data;
using CallLogs.Telephony.Extensions;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Telephony.Apis;

/// <summary>Call logs of an area: wazo-call-logd's <c>/cdr</c> queries (admins and viewers), regeneration, deletion and retention (admins).</summary>
public static class CallLogsApi
{
    public static IEndpointRouteBuilder MapCallLogsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/areas/{areaId:guid}/telephony").WithTags("Telephony call logs");
        api.MapGet("/call-logs", ListCallLogs).WithName("ListTelephonyCallLogs").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapGet("/call-logs/{id:long}", GetCallLog).WithName("GetTelephonyCallLog").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapGet("/users/me/call-logs", ListMyCallLogs).WithName("ListMyTelephonyCallLogs").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapPost("/call-logs/generate", GenerateCallLogs).WithName("GenerateTelephonyCallLogs").RequireAreaRole(Roles.AreaAdmin);
        api.MapDelete("/call-logs", DeleteCallLogs).WithName("DeleteTelephonyCallLogs").RequireAreaRole(Roles.AreaAdmin);
        api.MapGet("/retention", GetTelephonyRetention).WithName("GetTelephonyRetention").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapPut("/retention", PutTelephonyRetention).WithName("PutTelephonyRetention").RequireAreaRole(Roles.AreaAdmin);
        return app;
    }

    // ---- query ----

    public static Task<IResult> ListCallLogs(Guid areaId, [AsParameters] CallLogQuery query, HttpContext http, TelephonyDbContext db, CancellationToken ct) =>
        QueryAsync(areaId, query, null, http, db, ct);

    public static Task<IResult> ListMyCallLogs(Guid areaId, [AsParameters] CallLogQuery query, HttpContext http, TelephonyDbContext db, CancellationToken ct)
    {
        if (!Guid.TryParse(http.User.FindFirst(CallLogsClaims.Subject)?.Value, out var me))
        {
            throw ProblemException.Invalid("sub", "Your token's subject is not a user uuid of the telephony directory; ask for a token of your user.");
        }

        return QueryAsync(areaId, query, me, http, db, ct);
    }

    public static async Task<Ok<TelephonyCallLog>> GetCallLog(Guid areaId, long id, TelephonyDbContext db, CancellationToken ct)
    {
        if (id < 1)
        {
            throw ProblemException.Invalid("id", "A call log id is a positive whole number.");
        }

        return TypedResults.Ok(await db.CallLogs.AsNoTracking().FirstOrDefaultAsync(c => c.AreaId == areaId && c.Id == id, ct)
            ?? throw ProblemException.NotFound("Call log not found.", $"No call log {id} in this area. List the area's call logs for their ids."));
    }

    private static async Task<IResult> QueryAsync(Guid areaId, CallLogQuery query, Guid? me, HttpContext http, TelephonyDbContext db, CancellationToken ct)
    {
        var filters = new CallLogFilters(query);
        var area = db.CallLogs.AsNoTracking().Where(c => c.AreaId == areaId);
        if (me is { } user)
        {
            area = area.Where(c => EF.Property<Guid[]>(c, TelephonyDbContext.UserUuidsProperty).Contains(user));
        }

        var total = await area.CountAsync(ct);
        var filtered = filters.Apply(area);
        var count = await filtered.CountAsync(ct);
        var items = await filters.Page(filtered).ToListAsync(ct);

        var wantsCsv = query.Format == "csv"
            || (query.Format is null && http.Request.Headers.Accept.Any(a => a is not null && a.Contains("text/csv", StringComparison.OrdinalIgnoreCase)));
        return wantsCsv
            ? TypedResults.Text(CallLogCsv.Write(items), "text/csv; charset=utf-8", Encoding.UTF8)
            : TypedResults.Ok(new CallLogPage(items, total, count));
    }

    // ---- generation, deletion, retention ----

    public sealed record GenerateRequest
    {
        public int? CelCount { get; init; }
        public int? Days { get; init; }
    }

    public sealed class GenerateRequestValidator : AbstractValidator<GenerateRequest>
    {
        public GenerateRequestValidator()
        {
            RuleFor(r => r).Must(r => r.CelCount is null || r.Days is null).OverridePropertyName("celCount")
                .WithMessage("Send celCount or days, not both.");
            RuleFor(r => r.CelCount).InclusiveBetween(1, TelephonyOptions.MaxCelCount)
                .WithMessage($"The number of newest unprocessed CEL rows to read, from 1 to {TelephonyOptions.MaxCelCount} (default {TelephonyOptions.DefaultCelCount}).");
            RuleFor(r => r.Days).InclusiveBetween(1, TelephonyOptions.MaxDays)
                .WithMessage($"The unprocessed CEL rows of the last D days, D from 1 to {TelephonyOptions.MaxDays}.");
        }
    }

    public sealed record DeleteCallLogsQuery
    {
        public int? Days { get; init; }
        public bool? All { get; init; }
    }

    public sealed class DeleteCallLogsQueryValidator : AbstractValidator<DeleteCallLogsQuery>
    {
        public DeleteCallLogsQueryValidator()
        {
            RuleFor(q => q).Must(q => (q.Days is null) == (q.All == true)).OverridePropertyName("days")
                .WithMessage("Send days (the call logs started in the last D days) or all=true, one of them.");
            RuleFor(q => q.Days).InclusiveBetween(1, TelephonyOptions.MaxDays).WithMessage($"A number of days from 1 to {TelephonyOptions.MaxDays}.");
        }
    }

    public sealed record DeleteResult(int Deleted);

    private static ProblemException Busy() => ProblemException.Conflict(
        "Another generation, deletion or purge of this area is running (see GET .../telephony/operations); send the request again once it is done.");

    public static async Task<Ok<GenerationResult>> GenerateCallLogs(Guid areaId, GenerateRequest? request, TelephonyRuns runs, ClaimsPrincipal user,
        CancellationToken ct)
    {
        request ??= new GenerateRequest();
        var run = await runs.GenerateAsync(areaId, new GenerationSelection(request.Days is null ? request.CelCount ?? TelephonyOptions.DefaultCelCount : null, request.Days),
            StartedBy(user), ct) ?? throw Busy();
        return TypedResults.Ok(run.Result);
    }

    public static async Task<Ok<DeleteResult>> DeleteCallLogs(Guid areaId, [AsParameters] DeleteCallLogsQuery query, TelephonyRuns runs, ClaimsPrincipal user,
        CancellationToken ct)
    {
        var run = await runs.DeleteAsync(areaId, query.Days, StartedBy(user), ct) ?? throw Busy();
        return TypedResults.Ok(new DeleteResult(run.Deleted));
    }

    private static string StartedBy(ClaimsPrincipal user) => user.FindFirstValue(CallLogsClaims.Name) ?? user.PrincipalId() ?? "unknown";

    public sealed record RetentionRequest
    {
        public int? Days { get; init; }
    }

    public sealed class RetentionRequestValidator : AbstractValidator<RetentionRequest>
    {
        public static readonly string Message = $"Retention is a number of days from 1 to {TelephonyOptions.MaxDays}: older call logs are purged with their CEL rows.";

        public RetentionRequestValidator() => RuleFor(r => r.Days).NotNull().InclusiveBetween(1, TelephonyOptions.MaxDays).WithMessage(Message);
    }

    public sealed record RetentionResponse(int Days, bool IsDefault);

    public static async Task<Ok<RetentionResponse>> GetTelephonyRetention(Guid areaId, TelephonyDbContext db,
        Microsoft.Extensions.Options.IOptions<TelephonyOptions> options, CancellationToken ct)
    {
        var days = await db.AreaSettings.Where(s => s.AreaId == areaId).Select(s => (int?)s.RetentionDays).FirstOrDefaultAsync(ct);
        return TypedResults.Ok(new RetentionResponse(days ?? options.Value.DefaultRetentionDays, days is null));
    }

    /// <summary>An empty body binds as null, which the validation filter passes over: it is refused here with the validator's message.</summary>
    public static async Task<Ok<RetentionResponse>> PutTelephonyRetention(Guid areaId, RetentionRequest? request, TelephonyDbContext db, CancellationToken ct)
    {
        var days = request?.Days ?? throw ProblemException.Invalid("days", RetentionRequestValidator.Message);
        var settings = await db.AreaSettings.FindAsync([areaId], ct);
        if (settings is null)
        {
            db.AreaSettings.Add(new TelephonyAreaSettings { AreaId = areaId, RetentionDays = days });
        }
        else
        {
            settings.RetentionDays = days;
        }

        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(new RetentionResponse(days, false));
    }
}
