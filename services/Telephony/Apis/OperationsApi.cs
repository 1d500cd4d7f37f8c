using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.Telephony.Data;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallLogs.Telephony.Apis;

/// <summary>Long telephony operations (regenerations, deletions) with their progress: an area's, and all of them for operators.</summary>
public static class OperationsApi
{
    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/areas/{areaId:guid}/telephony").WithTags("Telephony operations");
        api.MapGet("/operations", ListTelephonyOperations).WithName("ListTelephonyOperations").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        api.MapGet("/operations/{operationId:guid}", GetTelephonyOperation).WithName("GetTelephonyOperation").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        app.MapGet("/api/ops/operations", ListAllTelephonyOperations).WithName("ListAllTelephonyOperations").WithTags("Operations")
            .RequireRoles(Roles.Operator, Roles.PlatformAdmin);
        return app;
    }

    public static async Task<Ok<List<OperationStatus>>> ListTelephonyOperations(Guid areaId, TelephonyOperations operations, CancellationToken ct) =>
        TypedResults.Ok(await operations.ListAsync(areaId, 50, ct));

    public static async Task<Ok<OperationStatus>> GetTelephonyOperation(Guid areaId, Guid operationId, TelephonyOperations operations, CancellationToken ct) =>
        TypedResults.Ok(await operations.FindAsync(areaId, operationId, ct)
            ?? throw ProblemException.NotFound("Operation not found.", "This area has no telephony operation with this id."));

    public static async Task<Ok<List<OperationStatus>>> ListAllTelephonyOperations(TelephonyOperations operations, CancellationToken ct) =>
        TypedResults.Ok(await operations.ListAsync(null, 50, ct));
}
