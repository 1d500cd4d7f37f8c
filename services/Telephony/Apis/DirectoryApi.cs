using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.Telephony.Data;
using CallLogs.Telephony.Domain;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Telephony.Apis;

/// <summary>
/// The user directory of an area as the PBX configuration knows it (wazo-confd's users, lines and voicemails): the
/// generator's only lookup to turn channels into users, tags and extensions.
/// </summary>
public static class DirectoryApi
{
    public static IEndpointRouteBuilder MapDirectoryApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/areas/{areaId:guid}/telephony").WithTags("Telephony directory");
        api.MapGet("/users", ListTelephonyUsers).WithName("ListTelephonyUsers").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapPut("/users/{uuid:guid}", PutTelephonyUser).WithName("PutTelephonyUser").RequireAreaRole(Roles.AreaAdmin);
        api.MapDelete("/users/{uuid:guid}", DeleteTelephonyUser).WithName("DeleteTelephonyUser").RequireAreaRole(Roles.AreaAdmin);
        api.MapGet("/voicemails", ListTelephonyVoicemails).WithName("ListTelephonyVoicemails").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapPut("/voicemails/{id:long}", PutTelephonyVoicemail).WithName("PutTelephonyVoicemail").RequireAreaRole(Roles.AreaAdmin);
        return app;
    }

    public sealed record LineRequest
    {
        public long? Id { get; init; }
        public string? Name { get; init; }
        public IReadOnlyList<Extension?>? Extensions { get; init; }
    }

    public sealed record UserRequest
    {
        public string? Name { get; init; }
        public string? Userfield { get; init; }
        public IReadOnlyList<LineRequest?>? Lines { get; init; }
    }

    public sealed record UserResponse(Guid Uuid, string? Name, string? Userfield, IReadOnlyList<string> Tags, IReadOnlyList<DirectoryLine> Lines);

    public sealed record VoicemailRequest
    {
        public string? Name { get; init; }
        public string? Number { get; init; }
        public string? Context { get; init; }
    }

    public const int MaxText = 255;
    public const int MaxLines = 100;

    public sealed class UserRequestValidator : AbstractValidator<UserRequest>
    {
        public UserRequestValidator()
        {
            RuleFor(u => u.Name).Must(BeText).WithMessage($"At most {MaxText} characters, without U+0000.");
            RuleFor(u => u.Userfield).Must(BeText).WithMessage($"Comma-separated tags, at most {MaxText} characters, without U+0000.");
            RuleFor(u => u.Lines).Must(l => l is null || l.Count <= MaxLines).WithMessage($"At most {MaxLines} lines.");
            RuleForEach(u => u.Lines).NotNull().WithMessage("A line is an object with id, name and extensions.").SetValidator(new LineRequestValidator()!);
        }
    }

    public sealed class LineRequestValidator : AbstractValidator<LineRequest>
    {
        public LineRequestValidator()
        {
            RuleFor(l => l.Id).NotNull().InclusiveBetween(1, int.MaxValue).WithMessage($"The line id: a whole number from 1 to {int.MaxValue}.");
            RuleFor(l => l.Name).Must(n => !string.IsNullOrWhiteSpace(n) && !n.Contains('/') && BeText(n))
                .WithMessage("A line name is the part of the channel between TECH/ and the last '-', e.g. as2mkq for SIP/as2mkq-00000021.");
            RuleFor(l => l.Extensions).Must(e => e is null || e.Count <= MaxLines).WithMessage($"At most {MaxLines} extensions.");
            RuleForEach(l => l.Extensions).NotNull().WithMessage("An extension is an object with exten and context.")
                .Must(e => e is null || (!string.IsNullOrEmpty(e.Exten) && !string.IsNullOrEmpty(e.Context) && BeText(e.Exten) && BeText(e.Context)))
                .WithMessage($"An extension has an exten and a context, each 1 to {MaxText} characters without U+0000.");
        }
    }

    public sealed class VoicemailRequestValidator : AbstractValidator<VoicemailRequest>
    {
        public VoicemailRequestValidator()
        {
            RuleFor(v => v.Name).Must(s => !string.IsNullOrEmpty(s) && BeText(s)).WithMessage($"The mailbox name, 1 to {MaxText} characters, without U+0000.");
            RuleFor(v => v.Number).Must(s => !string.IsNullOrEmpty(s) && BeText(s)).WithMessage($"The mailbox number, 1 to {MaxText} characters, without U+0000.");
            RuleFor(v => v.Context).Must(s => !string.IsNullOrEmpty(s) && BeText(s)).WithMessage($"The mailbox context, 1 to {MaxText} characters, without U+0000.");
        }
    }

    private static bool BeText(string? s) => s is null || (s.Length <= MaxText && StorableText.IsStorable(s));

    public static async Task<Ok<List<UserResponse>>> ListTelephonyUsers(Guid areaId, TelephonyDbContext db, CancellationToken ct)
    {
        var users = await db.Users.AsNoTracking().Where(u => u.AreaId == areaId).OrderBy(u => u.Name).ThenBy(u => u.Uuid).ToListAsync(ct);
        return TypedResults.Ok(users.Select(ToResponse).ToList());
    }

    private static UserResponse ToResponse(TelephonyUser u) => new(u.Uuid, u.Name, u.UserField, Tags.FromUserField(u.UserField), u.Lines);

    public static async Task<Ok<UserResponse>> PutTelephonyUser(Guid areaId, Guid uuid, UserRequest? request, TelephonyDbContext db, CancellationToken ct)
    {
        if (request is null)
        {
            throw ProblemException.Invalid("body", "Send a user: {\"name\", \"userfield\", \"lines\": [{\"id\", \"name\", \"extensions\"}]}.");
        }

        var lines = (request.Lines ?? []).Select(l => new DirectoryLine { Id = (int)l!.Id!.Value, Name = l.Name!, Extensions = [.. (l.Extensions ?? []).Select(e => e!)] }).ToList();
        var entity = await db.Users.FindAsync([areaId, uuid], ct);
        if (entity is null)
        {
            entity = new TelephonyUser { AreaId = areaId, Uuid = uuid };
            db.Users.Add(entity);
        }

        entity.Name = request.Name;
        entity.UserField = request.Userfield;
        entity.Lines = lines;
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(ToResponse(entity));
    }

    public static async Task<NoContent> DeleteTelephonyUser(Guid areaId, Guid uuid, TelephonyDbContext db, CancellationToken ct)
    {
        await db.Users.Where(u => u.AreaId == areaId && u.Uuid == uuid).ExecuteDeleteAsync(ct);
        return TypedResults.NoContent();
    }

    public static async Task<Ok<List<DirectoryVoicemail>>> ListTelephonyVoicemails(Guid areaId, TelephonyDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await db.Voicemails.AsNoTracking().Where(v => v.AreaId == areaId).OrderBy(v => v.Id)
            .Select(v => new DirectoryVoicemail(v.Id, v.Name, v.Number, v.Context)).ToListAsync(ct));

    public static async Task<Ok<DirectoryVoicemail>> PutTelephonyVoicemail(Guid areaId, long id, VoicemailRequest? request, TelephonyDbContext db,
        CancellationToken ct)
    {
        if (id is < 1 or > int.MaxValue)
        {
            throw ProblemException.Invalid("id", $"The voicemail id: a whole number from 1 to {int.MaxValue}.");
        }

        if (request is null)
        {
            throw ProblemException.Invalid("body", "Send a voicemail: {\"name\", \"number\", \"context\"}.");
        }

        var entity = await db.Voicemails.FindAsync([areaId, (int)id], ct);
        if (entity is null)
        {
            entity = new TelephonyVoicemail { AreaId = areaId, Id = (int)id, Name = request.Name!, Number = request.Number!, Context = request.Context! };
            db.Voicemails.Add(entity);
        }

        (entity.Name, entity.Number, entity.Context) = (request.Name!, request.Number!, request.Context!);
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(new DirectoryVoicemail(entity.Id, entity.Name, entity.Number, entity.Context));
    }
}
