using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Ingest.Data.Telephony;
using CallLogs.Ingest.Domain;
using CallLogs.Ingest.Domain.Telephony;
using CallLogs.Ingest.Extensions;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Auth;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Ingest.Apis;

/// <summary>Telephony: CEL intake (the PBX), user directory, call logs query, generation and deletion (area admins).</summary>
public static class TelephonyApi
{
    public static IEndpointRouteBuilder MapTelephonyApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/areas/{areaId:guid}/telephony").WithTags("Telephony");
        api.MapPost("/cel", IngestCel).RequireAreaRole(Roles.Ingest).ExcludeFromAudit();
        api.MapGet("/users", ListUsers).RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapPut("/users/{uuid:guid}", PutUser).RequireAreaRole(Roles.AreaAdmin);
        api.MapDelete("/users/{uuid:guid}", DeleteUser).RequireAreaRole(Roles.AreaAdmin);
        api.MapPut("/voicemails/{id:int}", PutVoicemail).RequireAreaRole(Roles.AreaAdmin);
        api.MapGet("/call-logs", ListCallLogs).RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapGet("/call-logs/{id:long}", GetCallLog).RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapGet("/users/me/call-logs", ListMyCallLogs).RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapPost("/call-logs/generate", Generate).RequireAreaRole(Roles.AreaAdmin);
        api.MapDelete("/call-logs", DeleteCallLogs).RequireAreaRole(Roles.AreaAdmin);
        api.MapPut("/retention", PutRetention).RequireAreaRole(Roles.AreaAdmin);
        api.MapGet("/operations", ListOperations).RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapGet("/operations/{operationId:guid}", GetOperation).RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        app.MapGet("/api/ops/operations", ListAllOperations).WithTags("Operations").RequireRoles(Roles.Operator, Roles.PlatformAdmin);
        return app;
    }

    // ---- CEL intake ----

    public sealed record RowError(int Index, long? Id, IReadOnlyList<string> Errors);
    public sealed record CelIntakeResult(int Accepted, int Duplicates, IReadOnlyList<RowError> Rejected, GenerationResult Generated);

    private static readonly string[] TextColumns =
    [
        "userdeftype", "cid_name", "cid_num", "cid_ani", "cid_rdnis", "cid_dnid", "exten", "context", "channame", "appname",
        "appdata", "accountcode", "peeraccount", "userfield", "peer", "extra",
    ];

    /// <param name="generate">false: store only; the batch generation (command line, admin call, nightly run) makes the call logs.</param>
    private static async Task<Ok<CelIntakeResult>> IngestCel(Guid areaId, List<JsonElement> rows, TelephonyDbContext db,
        TelephonyGeneration generation, CancellationToken ct, bool generate = true)
    {
        var accepted = new List<CelEntity>();
        var rejected = new List<RowError>();
        for (var i = 0; i < rows.Count; i++)
        {
            var (entity, errors) = ParseCel(areaId, rows[i]);
            if (entity is null)
            {
                rejected.Add(new RowError(i, rows[i].ValueKind == JsonValueKind.Object && rows[i].TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var v) ? v : null, errors));
            }
            else
            {
                accepted.Add(entity);
            }
        }

        var inserted = 0;
        if (accepted.Count > 0)
        {
            // a row id makes a resend harmless
            inserted = await db.Database.ExecuteSqlRawAsync(
                """
                INSERT INTO telephony_cel (area_id, id, event_type, event_time, user_def_type, cid_name, cid_num, cid_ani, cid_rdnis, cid_dnid,
                  exten, context, chan_name, app_name, app_data, ama_flags, account_code, peer_account, unique_id, linked_id, user_field, peer, extra)
                SELECT @p0, r.* FROM jsonb_to_recordset(@p1::jsonb) AS r(id bigint, event_type text, event_time timestamptz, user_def_type text,
                  cid_name text, cid_num text, cid_ani text, cid_rdnis text, cid_dnid text, exten text, context text, chan_name text, app_name text,
                  app_data text, ama_flags int, account_code text, peer_account text, unique_id text, linked_id text, user_field text, peer text, extra text)
                ON CONFLICT (area_id, id) DO NOTHING
                """,
                [areaId, JsonSerializer.Serialize(accepted.Select(RowJson))], ct);
        }

        // real time: every call that just ended gets its call log
        var ended = accepted.Where(c => c.EventType == CelEventTypes.LinkedIdEnd).Select(c => c.LinkedId).Distinct().ToList();
        var generated = generate && ended.Count > 0 ? await generation.ForLinkedIdsAsync(areaId, ended, ct) : new GenerationResult(0, 0, 0, 0);
        return TypedResults.Ok(new CelIntakeResult(inserted, accepted.Count - inserted, rejected, generated));
    }

    private static Dictionary<string, object?> RowJson(CelEntity c) => new()
    {
        ["id"] = c.Id, ["event_type"] = c.EventType, ["event_time"] = c.EventTime, ["user_def_type"] = c.UserDefType,
        ["cid_name"] = c.CidName, ["cid_num"] = c.CidNum, ["cid_ani"] = c.CidAni, ["cid_rdnis"] = c.CidRdnis, ["cid_dnid"] = c.CidDnid,
        ["exten"] = c.Exten, ["context"] = c.Context, ["chan_name"] = c.ChanName, ["app_name"] = c.AppName, ["app_data"] = c.AppData,
        ["ama_flags"] = c.AmaFlags, ["account_code"] = c.AccountCode, ["peer_account"] = c.PeerAccount, ["unique_id"] = c.UniqueId,
        ["linked_id"] = c.LinkedId, ["user_field"] = c.UserField, ["peer"] = c.Peer, ["extra"] = c.Extra,
    };

    /// <summary>One CEL row in Asterisk column names; every problem of the row is listed.</summary>
    internal static (CelEntity? Row, List<string> Errors) ParseCel(Guid areaId, JsonElement row)
    {
        var errors = new List<string>();
        if (row.ValueKind != JsonValueKind.Object)
        {
            return (null, ["a CEL row must be a JSON object of Asterisk CEL columns"]);
        }
        var text = new Dictionary<string, string>();
        foreach (var column in TextColumns.Concat(["eventtype", "eventtime", "uniqueid", "linkedid"]))
        {
            if (!row.TryGetProperty(column, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                text[column] = "";
            }
            else if (value.ValueKind == JsonValueKind.String)
            {
                text[column] = value.GetString()!;
            }
            else
            {
                errors.Add($"{column}: must be a string");
            }
        }
        long id = 0;
        if (!row.TryGetProperty("id", out var idValue) || !(idValue.ValueKind == JsonValueKind.Number ? idValue.TryGetInt64(out id) : long.TryParse(idValue.ValueKind == JsonValueKind.String ? idValue.GetString() : null, out id)) || id <= 0)
        {
            errors.Add("id: required, a positive integer (the CEL row id; a resent row with the same id is ignored)");
        }
        var amaFlags = 0;
        if (row.TryGetProperty("amaflags", out var ama) && ama.ValueKind != JsonValueKind.Null
            && !(ama.ValueKind == JsonValueKind.Number ? ama.TryGetInt32(out amaFlags) : int.TryParse(ama.GetString(), out amaFlags)))
        {
            errors.Add("amaflags: must be an integer");
        }
        foreach (var required in new[] { "eventtype", "uniqueid", "linkedid" })
        {
            if (text.TryGetValue(required, out var v) && v.Length == 0)
            {
                errors.Add($"{required}: required");
            }
        }
        DateTimeOffset eventTime = default;
        if (text.TryGetValue("eventtime", out var time) && !DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out eventTime))
        {
            errors.Add("eventtime: required, a date and time (ISO 8601 or 'YYYY-MM-DD HH:MM:SS.ffffff', UTC when no offset)");
        }
        if (errors.Count > 0)
        {
            return (null, errors);
        }
        return (new CelEntity
        {
            AreaId = areaId, Id = id, EventType = text["eventtype"], EventTime = eventTime, UserDefType = text["userdeftype"],
            CidName = text["cid_name"], CidNum = text["cid_num"], CidAni = text["cid_ani"], CidRdnis = text["cid_rdnis"],
            CidDnid = text["cid_dnid"], Exten = text["exten"], Context = text["context"], ChanName = text["channame"],
            AppName = text["appname"], AppData = text["appdata"], AmaFlags = amaFlags, AccountCode = text["accountcode"],
            PeerAccount = text["peeraccount"], UniqueId = text["uniqueid"], LinkedId = text["linkedid"],
            UserField = text["userfield"], Peer = text["peer"], Extra = text["extra"],
        }, errors);
    }

    // ---- directory ----

    public sealed record LineRequest
    {
        public required int Id { get; init; }
        public required string Name { get; init; }
        public IReadOnlyList<Extension> Extensions { get; init; } = [];
    }

    public sealed record UserRequest
    {
        public string? Name { get; init; }
        public string? Userfield { get; init; }
        public IReadOnlyList<LineRequest> Lines { get; init; } = [];
    }

    public sealed record UserResponse(Guid Uuid, string? Name, string? Userfield, IReadOnlyList<string> Tags, IReadOnlyList<DirectoryLine> Lines);

    private static async Task<Ok<List<UserResponse>>> ListUsers(Guid areaId, TelephonyDbContext db, CancellationToken ct)
    {
        var users = await db.Users.AsNoTracking().Where(u => u.AreaId == areaId).OrderBy(u => u.Name).ToListAsync(ct);
        return TypedResults.Ok(users.Select(ToResponse).ToList());
    }

    private static UserResponse ToResponse(TelephonyUserEntity u) => new(u.Uuid, u.Name, u.UserField, Tags.FromUserField(u.UserField),
        JsonSerializer.Deserialize<List<DirectoryLine>>(u.Lines, TelephonyGeneration.Json) ?? []);

    private static async Task<Ok<UserResponse>> PutUser(Guid areaId, Guid uuid, UserRequest request, TelephonyDbContext db, CancellationToken ct)
    {
        var failures = request.Lines.SelectMany((l, i) => string.IsNullOrWhiteSpace(l.Name) || l.Name.Contains('/')
            ? [new ValidationFailure($"lines[{i}].name", "A line name is the part of the channel between TECH/ and the last '-', e.g. as2mkq for SIP/as2mkq-00000021.")]
            : Array.Empty<ValidationFailure>()).ToList();
        if (failures.Count > 0)
        {
            throw new ValidationException(failures);
        }
        var lines = request.Lines.Select(l => new DirectoryLine { Id = l.Id, Name = l.Name, Extensions = l.Extensions }).ToList();
        var entity = await db.Users.FindAsync([areaId, uuid], ct);
        if (entity is null)
        {
            entity = new TelephonyUserEntity { AreaId = areaId, Uuid = uuid, Lines = "[]" };
            db.Users.Add(entity);
        }
        entity.Name = request.Name;
        entity.UserField = request.Userfield;
        entity.Lines = JsonSerializer.Serialize(lines, TelephonyGeneration.Json);
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(ToResponse(entity));
    }

    private static async Task<NoContent> DeleteUser(Guid areaId, Guid uuid, TelephonyDbContext db, CancellationToken ct)
    {
        await db.Users.Where(u => u.AreaId == areaId && u.Uuid == uuid).ExecuteDeleteAsync(ct);
        return TypedResults.NoContent();
    }

    public sealed record VoicemailRequest
    {
        public required string Name { get; init; }
        public required string Number { get; init; }
        public required string Context { get; init; }
    }

    private static async Task<Ok<DirectoryVoicemail>> PutVoicemail(Guid areaId, int id, VoicemailRequest request, TelephonyDbContext db, CancellationToken ct)
    {
        var entity = await db.Voicemails.FindAsync([areaId, id], ct);
        if (entity is null)
        {
            entity = new TelephonyVoicemailEntity { AreaId = areaId, Id = id, Name = request.Name, Number = request.Number, Context = request.Context };
            db.Voicemails.Add(entity);
        }
        (entity.Name, entity.Number, entity.Context) = (request.Name, request.Number, request.Context);
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(new DirectoryVoicemail(id, entity.Name, entity.Number, entity.Context));
    }

    // ---- generation, deletion, retention ----

    public sealed record GenerateRequest
    {
        public int? CelCount { get; init; }
        public int? Days { get; init; }
    }

    private static async Task<Ok<GenerationResult>> Generate(Guid areaId, GenerateRequest? request, TelephonyGeneration generation,
        TelephonyOperations operations, ClaimsPrincipal user, TimeProvider clock, CancellationToken ct)
    {
        request ??= new GenerateRequest();
        if (request is { CelCount: not null, Days: not null } || request.CelCount <= 0 || request.Days <= 0)
        {
            throw new ValidationException([new ValidationFailure("cel_count", "Send cel_count (a positive number of newest unprocessed CEL rows, default 20000) or days (a positive number), not both.")]);
        }
        var (_, result) = await operations.RunAsync(areaId, "telephony-generate", "calls", StartedBy(user),
            progress => request.Days is { } days
                ? generation.FromDaysAsync(areaId, days, clock.GetUtcNow(), ct, progress)
                : generation.FromCountAsync(areaId, request.CelCount ?? TelephonyOptions.DefaultCelCount, ct, progress),
            TelephonyOperations.Describe, ct);
        return TypedResults.Ok(result);
    }

    public sealed record DeleteResult(int Deleted);

    private static async Task<Ok<DeleteResult>> DeleteCallLogs(Guid areaId, int? days, bool? all, TelephonyGeneration generation,
        TelephonyOperations operations, ClaimsPrincipal user, TimeProvider clock, CancellationToken ct)
    {
        if ((days is null) == (all != true) || days <= 0)
        {
            throw new ValidationException([new ValidationFailure("days", "Send days (a positive number: the call logs started in the last D days) or all=true, not both.")]);
        }
        var (_, deleted) = await operations.RunAsync(areaId, "telephony-delete", "call logs", StartedBy(user),
            progress => generation.DeleteAsync(areaId, days, clock.GetUtcNow(), ct, progress), n => $"Deleted {n} call logs", ct);
        return TypedResults.Ok(new DeleteResult(deleted));
    }

    private static string StartedBy(ClaimsPrincipal user) => user.FindFirstValue(CallLogsClaims.Name) ?? user.PrincipalId() ?? "unknown";

    private static async Task<Ok<List<OperationStatus>>> ListOperations(Guid areaId, TelephonyOperations operations, CancellationToken ct) =>
        TypedResults.Ok(await operations.ListAsync(areaId, 50, ct));

    private static async Task<Results<Ok<OperationStatus>, ProblemHttpResult>> GetOperation(Guid areaId, Guid operationId, TelephonyOperations operations,
        CancellationToken ct) =>
        await operations.FindAsync(areaId, operationId, ct) is { } found
            ? TypedResults.Ok(found)
            : TypedResults.Problem(statusCode: 404, title: "Operation not found.", detail: "This area has no telephony operation with this id.");

    private static async Task<Ok<List<OperationStatus>>> ListAllOperations(TelephonyOperations operations, CancellationToken ct) =>
        TypedResults.Ok(await operations.ListAsync(null, 50, ct));

    public sealed record RetentionRequest
    {
        public required int Days { get; init; }
    }

    private static async Task<Ok<RetentionRequest>> PutRetention(Guid areaId, RetentionRequest request, TelephonyDbContext db, CancellationToken ct)
    {
        if (request.Days is < 1 or > 36500)
        {
            throw new ValidationException([new ValidationFailure("days", "Retention is a number of days from 1 to 36500.")]);
        }
        var settings = await db.AreaSettings.FindAsync([areaId], ct);
        if (settings is null)
        {
            db.AreaSettings.Add(new TelephonyAreaSettings { AreaId = areaId, RetentionDays = request.Days });
        }
        else
        {
            settings.RetentionDays = request.Days;
        }
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(request);
    }

    // ---- query ----

    private static Task<IResult> ListMyCallLogs(Guid areaId, [AsParameters] CallLogQuery query, HttpContext http, TelephonyDbContext db, CancellationToken ct)
    {
        if (!Guid.TryParse(http.User.FindFirst(CallLogsClaims.Subject)?.Value, out var me))
        {
            throw new ValidationException([new ValidationFailure("sub", "Your token's subject is not a user uuid of the telephony directory.")]);
        }
        return Query(areaId, query, me, http, db, ct);
    }

    private static Task<IResult> ListCallLogs(Guid areaId, [AsParameters] CallLogQuery query, HttpContext http, TelephonyDbContext db, CancellationToken ct) =>
        Query(areaId, query, null, http, db, ct);

    private static async Task<Results<Ok<CallLogResponse>, NotFound<ProblemDetails>>> GetCallLog(Guid areaId, long id, TelephonyDbContext db, CancellationToken ct)
    {
        var log = await db.CallLogs.AsNoTracking().FirstOrDefaultAsync(c => c.AreaId == areaId && c.Id == id, ct);
        return log is null
            ? TypedResults.NotFound(new ProblemDetails { Title = "Call log not found.", Detail = $"No call log {id} in this area.", Status = 404 })
            : TypedResults.Ok(CallLogResponse.From(log));
    }

    private static async Task<IResult> Query(Guid areaId, CallLogQuery q, Guid? me, HttpContext http, TelephonyDbContext db, CancellationToken ct)
    {
        var filters = TelephonyQuery.Validate(q);
        var area = db.CallLogs.AsNoTracking().Where(c => c.AreaId == areaId);
        if (me is { } user)
        {
            area = area.Where(c => c.UserUuids.Contains(user));
        }
        var total = await area.CountAsync(ct);
        var filtered = TelephonyQuery.Apply(area, filters);
        var count = await filtered.CountAsync(ct);
        var items = await TelephonyQuery.Order(filtered, filters).Skip(filters.Offset).Take(filters.Limit).ToListAsync(ct);
        var responses = items.Select(CallLogResponse.From).ToList();

        var wantsCsv = string.Equals(q.Format, "csv", StringComparison.OrdinalIgnoreCase)
            || http.Request.Headers.Accept.Any(a => a is not null && a.Contains("text/csv", StringComparison.OrdinalIgnoreCase));
        return wantsCsv
            ? TypedResults.Text(CallLogResponse.ToCsv(responses), "text/csv; charset=utf-8", Encoding.UTF8)
            : TypedResults.Ok(new CallLogPage(responses, total, count));
    }
}
