using CallLogs.Contracts;
using CallLogs.Profile.Data;
using CallLogs.Profile.Domain;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.ServiceDefaults.Secrets;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Profile.Apis;

/// <summary>
/// Call log export profiles of an area. Area admins manage them, viewers read them; another area's profiles
/// are invisible (404). Every change and its event are saved in one transaction (outbox). The IAM role's external id
/// and the API keys of filters are stored and sent sealed (<see cref="SecretSeal"/>), and shown open.
/// </summary>
public static class ExportProfilesApi
{
    public static IEndpointRouteBuilder MapExportProfilesApi(this IEndpointRouteBuilder app)
    {
        var profiles = app.MapGroup("/api/areas/{areaId:guid}/export-profiles").WithTags("Export profiles");
        profiles.MapPost("/", CreateExportProfile).WithName("CreateExportProfile").RequireAreaRole(Roles.AreaAdmin);
        profiles.MapGet("/", ListExportProfiles).WithName("ListExportProfiles").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        profiles.MapGet("/{profileId:guid}", GetExportProfile).WithName("GetExportProfile").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        profiles.MapPatch("/{profileId:guid}", UpdateExportProfile).WithName("UpdateExportProfile").RequireAreaRole(Roles.AreaAdmin);
        profiles.MapPost("/{profileId:guid}/enable", EnableExportProfile).WithName("EnableExportProfile").RequireAreaRole(Roles.AreaAdmin);
        profiles.MapPost("/{profileId:guid}/disable", DisableExportProfile).WithName("DisableExportProfile").RequireAreaRole(Roles.AreaAdmin);
        profiles.MapDelete("/{profileId:guid}", DeleteExportProfile).WithName("DeleteExportProfile").RequireAreaRole(Roles.AreaAdmin);
        return app;
    }

    public static async Task<Created<ExportProfileResponse>> CreateExportProfile(Guid areaId,
        CreateExportProfileRequest request, ProfileDbContext db, SecretSeal seal, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (await AreaNameAsync(db, areaId, cancellationToken) is not { } areaName)
        {
            throw AreaNotFound();
        }

        var now = clock.GetUtcNow();
        var encryption = request.Encryption is { Enabled: true } e ? e : null;
        var profile = new ExportProfile
        {
            Id = Guid.CreateVersion7(),
            AreaId = areaId,
            Name = request.Name!.Trim(),
            NormalizedName = AreasApi.Normalize(request.Name),
            S3Bucket = request.S3Bucket!,
            EncryptionEnabled = encryption is not null,
            IamRoleArn = encryption?.IamRoleArn,
            CmkKeyArn = encryption?.CmkKeyArn,
            IamRoleExternalId = Sealed(seal, encryption?.IamRoleExternalId),
            MaskSensitiveData = request.MaskSensitiveData,
            UnmaskedCharacters = request.UnmaskedCharacters ?? 0,
            CollectFrom = HourSnapping.ToNearestHour(request.CollectFrom!.Value),
            CollectUntil = request.CollectUntil?.ToUniversalTime(),
            Filters = (request.Filters ?? []).Select(f => ToContract(f, seal)).ToList(),
            EscapeCsvFormulas = request.EscapeCsvFormulas ?? true,
            Enabled = true,
            Version = 1,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.ExportProfiles.Add(profile);
        db.AddOutboxMessage(new ExportProfileCreated { Profile = profile.Snapshot(areaName) }, clock);
        await SaveAsync(db, profile.Name, cancellationToken);
        return TypedResults.Created($"/api/areas/{areaId}/export-profiles/{profile.Id}", ToResponse(profile, seal));
    }

    /// <summary>A page of the area's profiles by name; 404 when the area does not exist (platform admins reach any id).</summary>
    public static async Task<Ok<PagedList<ExportProfileResponse>>> ListExportProfiles(Guid areaId, ProfileDbContext db, SecretSeal seal,
        [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (!await db.Areas.AnyAsync(a => a.Id == areaId, cancellationToken))
        {
            throw AreaNotFound();
        }

        var query = db.ExportProfiles.AsNoTracking().Where(p => p.AreaId == areaId);
        var total = await query.CountAsync(cancellationToken);
        var items = await query.OrderBy(p => p.NormalizedName).ThenBy(p => p.Id)
            .Skip((paging.PageNumber - 1) * paging.Size).Take(paging.Size).ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedList<ExportProfileResponse>(items.Select(p => ToResponse(p, seal)).ToList(), paging.PageNumber, paging.Size, total));
    }

    public static async Task<Ok<ExportProfileResponse>> GetExportProfile(Guid areaId, Guid profileId,
        ProfileDbContext db, SecretSeal seal, CancellationToken cancellationToken)
    {
        var profile = await db.ExportProfiles.AsNoTracking().FirstOrDefaultAsync(p => p.AreaId == areaId && p.Id == profileId, cancellationToken);
        return profile is null ? throw ProfileNotFound() : TypedResults.Ok(ToResponse(profile, seal));
    }

    public static async Task<Ok<ExportProfileResponse>> UpdateExportProfile(Guid areaId, Guid profileId,
        UpdateExportProfileRequest request, ProfileDbContext db, SecretSeal seal, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var profile = await db.ExportProfiles.FirstOrDefaultAsync(p => p.AreaId == areaId && p.Id == profileId, cancellationToken);
        if (profile is null)
        {
            throw ProfileNotFound();
        }

        RefuseChangeOfFixedFields(profile, request, seal);
        if (request.Name is not null)
        {
            profile.Name = request.Name.Trim();
            profile.NormalizedName = AreasApi.Normalize(request.Name);
        }

        if (request.S3Bucket is not null)
        {
            profile.S3Bucket = request.S3Bucket;
        }

        if (request.Encryption is { } encryption)
        {
            profile.EncryptionEnabled = encryption.Enabled;
            profile.IamRoleArn = encryption.Enabled ? encryption.IamRoleArn : null;
            profile.CmkKeyArn = encryption.Enabled ? encryption.CmkKeyArn : null;
            profile.IamRoleExternalId = encryption.Enabled ? Sealed(seal, encryption.IamRoleExternalId) : null;
        }

        profile.MaskSensitiveData = request.MaskSensitiveData ?? profile.MaskSensitiveData;
        profile.UnmaskedCharacters = request.UnmaskedCharacters ?? profile.UnmaskedCharacters;
        profile.EscapeCsvFormulas = request.EscapeCsvFormulas ?? profile.EscapeCsvFormulas;
        if (db.ChangeTracker.HasChanges())
        {
            Touch(profile, clock);
            db.AddOutboxMessage(new ExportProfileUpdated { Profile = profile.Snapshot(await AreaNameAsync(db, areaId, cancellationToken) ?? "") }, clock);
            await SaveAsync(db, profile.Name, cancellationToken);
        }

        return TypedResults.Ok(ToResponse(profile, seal));
    }

    public static Task<Ok<ExportProfileResponse>> EnableExportProfile(Guid areaId, Guid profileId,
        ProfileDbContext db, SecretSeal seal, TimeProvider clock, CancellationToken cancellationToken) =>
        SetEnabledAsync(areaId, profileId, enabled: true, db, seal, clock, cancellationToken);

    public static Task<Ok<ExportProfileResponse>> DisableExportProfile(Guid areaId, Guid profileId,
        ProfileDbContext db, SecretSeal seal, TimeProvider clock, CancellationToken cancellationToken) =>
        SetEnabledAsync(areaId, profileId, enabled: false, db, seal, clock, cancellationToken);

    public static async Task<NoContent> DeleteExportProfile(Guid areaId, Guid profileId,
        ProfileDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var profile = await db.ExportProfiles.FirstOrDefaultAsync(p => p.AreaId == areaId && p.Id == profileId, cancellationToken);
        if (profile is null)
        {
            throw ProfileNotFound();
        }

        db.ExportProfiles.Remove(profile);
        db.AddOutboxMessage(new ExportProfileDeleted
        {
            ProfileId = profile.Id,
            AreaId = profile.AreaId,
            Version = profile.Version + 1,
            DeletedAt = clock.GetUtcNow(),
        }, clock);
        await SaveAsync(db, profile.Name, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<ExportProfileResponse>> SetEnabledAsync(Guid areaId, Guid profileId, bool enabled,
        ProfileDbContext db, SecretSeal seal, TimeProvider clock, CancellationToken cancellationToken)
    {
        var profile = await db.ExportProfiles.FirstOrDefaultAsync(p => p.AreaId == areaId && p.Id == profileId, cancellationToken);
        if (profile is null)
        {
            throw ProfileNotFound();
        }

        if (profile.Enabled != enabled)
        {
            profile.Enabled = enabled;
            Touch(profile, clock);
            var snapshot = profile.Snapshot(await AreaNameAsync(db, areaId, cancellationToken) ?? "");
            if (enabled)
            {
                db.AddOutboxMessage(new ExportProfileEnabled { Profile = snapshot }, clock);
            }
            else
            {
                db.AddOutboxMessage(new ExportProfileDisabled { Profile = snapshot }, clock);
            }

            await SaveAsync(db, profile.Name, cancellationToken);
        }

        return TypedResults.Ok(ToResponse(profile, seal));
    }

    /// <summary>collectFrom, collectUntil and filters are fixed at creation: a different value is a 409 naming the field.</summary>
    private static void RefuseChangeOfFixedFields(ExportProfile profile, UpdateExportProfileRequest request, SecretSeal seal)
    {
        string? field = null;
        if (request.CollectFrom is { } from && HourSnapping.ToNearestHour(from) != profile.CollectFrom)
        {
            field = "collectFrom";
        }
        else if (request.CollectUntil is { } until && until.ToUniversalTime() != profile.CollectUntil)
        {
            field = "collectUntil";
        }
        else if (request.Filters is { } filters && !SameFilters(filters, profile.Filters, seal))
        {
            field = "filters";
        }

        if (field is not null)
        {
            throw new ProblemException(StatusCodes.Status409Conflict, $"The field '{field}' cannot be changed.",
                $"'{field}' is fixed once a profile is created; the profile was not changed. To collect with other settings, create a new profile (and disable or delete this one).");
        }
    }

    private static bool SameFilters(IReadOnlyList<FilterSetting> requested, IReadOnlyList<ExportFilter> stored, SecretSeal seal) =>
        requested.Count == stored.Count && requested.Zip(stored).All(pair =>
            FilterNames.Fields.TryGetValue(pair.First.Field ?? "", out var field) && field == pair.Second.Field
            && FilterNames.Operators.TryGetValue(pair.First.Operator ?? "", out var op) && op == pair.Second.Operator
            && pair.First.Value == seal.Open(pair.Second.Value));

    private static void Touch(ExportProfile profile, TimeProvider clock)
    {
        profile.Version++;
        profile.UpdatedAt = clock.GetUtcNow();
    }

    private static async Task SaveAsync(ProfileDbContext db, string name, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            throw ProblemException.Conflict("The profile was changed by another request meanwhile; nothing was saved. Read it again and repeat your change.");
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            throw ProblemException.Conflict($"A profile named '{name}' already exists in this area (names are compared ignoring case). Choose another name.");
        }
    }

    /// <summary>A filter as stored and sent to the export: an API key sealed (<see cref="SecretSeal"/>), as in the records it is compared with.</summary>
    private static ExportFilter ToContract(FilterSetting filter, SecretSeal seal) => new()
    {
        Field = FilterNames.Fields[filter.Field],
        Operator = FilterNames.Operators[filter.Operator],
        Value = FilterNames.Fields[filter.Field] == FilterField.ApiKey ? seal.Seal(filter.Value) : filter.Value,
    };

    /// <summary>The profile's secrets (the IAM role's external id, API keys of filters) are stored and sent sealed.</summary>
    private static string? Sealed(SecretSeal seal, string? secret) => string.IsNullOrEmpty(secret) ? secret : seal.Seal(secret);

    /// <summary>The profile as the API shows it: its sealed secrets opened.</summary>
    internal static ExportProfileResponse ToResponse(ExportProfile p, SecretSeal seal) => new(
        p.Id,
        p.AreaId,
        p.Name,
        p.S3Bucket,
        new EncryptionSetting(p.EncryptionEnabled, p.IamRoleArn, p.CmkKeyArn, seal.Open(p.IamRoleExternalId)),
        p.MaskSensitiveData,
        p.UnmaskedCharacters,
        p.CollectFrom,
        p.CollectUntil,
        p.Filters.Select(f => new FilterSetting(FilterNames.Name(f.Field), FilterNames.Name(f.Operator), seal.Open(f.Value)!)).ToList(),
        p.EscapeCsvFormulas,
        p.Enabled ? "enabled" : "disabled",
        p.Version,
        p.CreatedAt,
        p.UpdatedAt);

    private static Task<string?> AreaNameAsync(ProfileDbContext db, Guid areaId, CancellationToken cancellationToken) =>
        db.Areas.Where(a => a.Id == areaId).Select(a => a.Name).FirstOrDefaultAsync(cancellationToken);

    private static ProblemException ProfileNotFound() =>
        ProblemException.NotFound("Export profile not found.", "No export profile with this id exists in this area.");

    private static ProblemException AreaNotFound() =>
        ProblemException.NotFound("Area not found.", "No area with this id exists. A platform admin creates areas first.");
}
