using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using CallLogs.ServiceDefaults.Errors;

namespace CallLogs.ServiceDefaults.Auth;

/// <summary>
/// Authorisation by area and role for routes under <c>{areaId}</c>. No token: 401. A token of another
/// area: 404, the same answer as for an area that does not exist, so ids don't leak. The right area but
/// a role not allowed here: 403. Platform admins pass everywhere. Once the caller is allowed, the request's values go
/// through the one validation path (<see cref="ValidationFilter"/>), so every authorised endpoint checks its input.
/// </summary>
public static class AreaAccess
{
    public const string AreaRouteValue = "areaId";

    public static TBuilder RequireAreaRole<TBuilder>(this TBuilder builder, params string[] roles)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.RequireAuthorization();
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var user = http.User;
            if (!Guid.TryParse(http.Request.RouteValues[AreaRouteValue] as string, out var areaId) || !user.CanReachArea(areaId))
            {
                throw ProblemException.NotFound("Area not found.", "No area with this id is visible to your token. Check the area id in the URL.");
            }

            if (!user.IsPlatformAdmin() && !roles.Any(user.IsInRole))
            {
                throw RoleRefused(roles);
            }

            return await next(context);
        });
        return builder.WithValidation();
    }

    /// <summary>Only a platform admin may call this (areas, operations).</summary>
    public static TBuilder RequirePlatformAdmin<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireRoles(Roles.PlatformAdmin);

    /// <summary>Any of these roles, whatever the area (routes without an area).</summary>
    public static TBuilder RequireRoles<TBuilder>(this TBuilder builder, params string[] roles) where TBuilder : IEndpointConventionBuilder
    {
        builder.RequireAuthorization();
        builder.AddEndpointFilter(async (context, next) =>
            roles.Any(context.HttpContext.User.IsInRole) ? await next(context) : throw RoleRefused(roles));
        return builder.WithValidation();
    }

    private static ProblemException RoleRefused(string[] roles) => new(StatusCodes.Status403Forbidden, "Your role does not allow this.",
        $"This operation needs one of the roles: {string.Join(", ", roles)}.");
}
