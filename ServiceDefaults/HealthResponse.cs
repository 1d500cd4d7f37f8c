using System.Text.Json;
using CallLogs.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Writes the health report as JSON: the overall status and each check's status. Only an operator or platform admin
/// (by token) also gets each check's description and error: anyone else learns nothing of the internals.
/// </summary>
internal static class HealthResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var user = context.User;
        var details = user.Identity?.IsAuthenticated == true && (user.IsInRole(Roles.Operator) || user.IsPlatformAdmin());
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => details
                    ? new { status = e.Value.Status.ToString(), description = e.Value.Description ?? e.Value.Exception?.Message }
                    : new { status = e.Value.Status.ToString(), description = (string?)null }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, Options));
    }

    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
}
