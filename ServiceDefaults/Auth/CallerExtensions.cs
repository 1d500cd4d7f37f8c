using System.Security.Claims;

namespace CallLogs.ServiceDefaults.Auth;

/// <summary>What a handler needs to know of its caller.</summary>
public static class CallerExtensions
{
    public static Guid? AreaId(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(CallLogsClaims.Area), out var area) ? area : null;

    public static bool IsPlatformAdmin(this ClaimsPrincipal user) => user.IsInRole(Roles.PlatformAdmin);

    /// <summary>Platform admins reach every area; everybody else only the area of their token.</summary>
    public static bool CanReachArea(this ClaimsPrincipal user, Guid areaId) =>
        user.IsPlatformAdmin() || user.AreaId() == areaId;

    public static string? PrincipalId(this ClaimsPrincipal user) => user.FindFirstValue(CallLogsClaims.Subject);

    public static string? TokenId(this ClaimsPrincipal user) => user.FindFirstValue(CallLogsClaims.TokenId);
}
