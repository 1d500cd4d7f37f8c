using CallLogs.Contracts;
using CallLogs.Profile.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.ServiceDefaults.Outbox;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using System.Security.Claims;

namespace CallLogs.Profile.Apis;

/// <summary>Areas (tenants): platform admins create, rename and list them; everyone sees their own.</summary>
public static class AreasApi
{
    public static IEndpointRouteBuilder MapAreasApi(this IEndpointRouteBuilder app)
    {
        var areas = app.MapGroup("/api/areas").WithTags("Areas");
        areas.MapPost("/", CreateArea).WithName("CreateArea").RequirePlatformAdmin();
        areas.MapGet("/", ListAreas).WithName("ListAreas").RequireAuthorization();
        areas.MapGet("/{areaId:guid}", GetArea).WithName("GetArea")
            .RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer, Roles.Ingest, Roles.Operator);
        areas.MapPut("/{areaId:guid}", RenameArea).WithName("RenameArea").RequirePlatformAdmin();
        return app;
    }

    public static async Task<Created<AreaResponse>> CreateArea(CreateAreaRequest request,
        ProfileDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var area = new Area { Id = Guid.CreateVersion7(), Name = request.Name!.Trim(), NormalizedName = Normalize(request.Name), CreatedAt = now, UpdatedAt = now };
        db.Areas.Add(area);
        db.AddOutboxMessage(new AreaCreated { AreaId = area.Id, Name = area.Name, CreatedAt = now }, clock);
        await SaveUniqueAsync(db, area.Name, cancellationToken);
        return TypedResults.Created($"/api/areas/{area.Id}", ToResponse(area));
    }

    public static async Task<Ok<List<AreaResponse>>> ListAreas(ClaimsPrincipal user, ProfileDbContext db, CancellationToken cancellationToken)
    {
        var query = db.Areas.AsNoTracking();
        if (!user.IsPlatformAdmin() && !user.IsInRole(Roles.Operator))
        {
            var own = user.AreaId();
            query = query.Where(a => a.Id == own);
        }

        var areas = await query.OrderBy(a => a.Name).ToListAsync(cancellationToken);
        return TypedResults.Ok(areas.Select(ToResponse).ToList());
    }

    public static async Task<Ok<AreaResponse>> GetArea(Guid areaId, ProfileDbContext db, CancellationToken cancellationToken)
    {
        var area = await db.Areas.AsNoTracking().FirstOrDefaultAsync(a => a.Id == areaId, cancellationToken);
        return area is null ? throw AreaNotFound() : TypedResults.Ok(ToResponse(area));
    }

    public static async Task<Ok<AreaResponse>> RenameArea(Guid areaId, RenameAreaRequest request,
        ProfileDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var area = await db.Areas.FirstOrDefaultAsync(a => a.Id == areaId, cancellationToken);
        if (area is null)
        {
            throw AreaNotFound();
        }

        var name = request.Name!.Trim();
        if (area.Name != name)
        {
            area.Name = name;
            area.NormalizedName = Normalize(name);
            area.UpdatedAt = clock.GetUtcNow();
            db.AddOutboxMessage(new AreaRenamed { AreaId = area.Id, Name = area.Name, UpdatedAt = area.UpdatedAt }, clock);
            await SaveUniqueAsync(db, name, cancellationToken);
        }

        return TypedResults.Ok(ToResponse(area));
    }

    internal static string Normalize(string name) => name.Trim().ToUpperInvariant();

    private static async Task SaveUniqueAsync(ProfileDbContext db, string name, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            throw ProblemException.Conflict($"An area named '{name}' already exists. Area names are unique (whatever their case): choose another name.");
        }
    }

    private static ProblemException AreaNotFound() =>
        ProblemException.NotFound("Area not found.", "No area with this id is visible to your token. Check the area id in the URL.");

    private static AreaResponse ToResponse(Area area) => new(area.Id, area.Name, area.CreatedAt, area.UpdatedAt);
}
