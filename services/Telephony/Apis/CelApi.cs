using System.Text.Json;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Telephony.Data;
using CallLogs.Telephony.Domain;
using CallLogs.Telephony.Extensions;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace CallLogs.Telephony.Apis;

/// <summary>CEL intake: the PBX posts its CEL rows; every call a batch ends gets its call log at once (real time).</summary>
public static class CelApi
{
    public static IEndpointRouteBuilder MapCelApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/areas/{areaId:guid}/telephony/cel", IngestCel).WithName("IngestCel").WithTags("Telephony")
            .RequireAreaRole(Roles.Ingest).ExcludeFromAudit();
        return app;
    }

    /// <param name="Index">Position of the row in the posted array.</param>
    public sealed record RowError(int Index, long? Id, IReadOnlyList<string> Errors);

    /// <summary>Rows taken (and duplicates ignored), rows refused with their errors, and the call logs the batch made.</summary>
    public sealed record CelIntakeResult(int Accepted, int Duplicates, IReadOnlyList<RowError> Rejected, GenerationResult Generated);

    /// <param name="generate">false: store only; a batch generation (command line, admin call, nightly run) makes the call logs.</param>
    /// <param name="rows">A JSON array of CEL rows, read as one document (not one per row).</param>
    public static async Task<Ok<CelIntakeResult>> IngestCel(Guid areaId, [FromBody] JsonElement rows, TelephonyGeneration generation,
        IOptions<TelephonyOptions> options, TimeProvider clock, CancellationToken ct, bool generate = true)
    {
        if (rows.ValueKind != JsonValueKind.Array)
        {
            throw new ValidationException([new ValidationFailure("body", "Send a JSON array of CEL rows (objects of Asterisk CEL columns).")]);
        }

        if (rows.GetArrayLength() > options.Value.MaxCelRowsPerRequest)
        {
            throw new ValidationException([new ValidationFailure("body", $"At most {options.Value.MaxCelRowsPerRequest} CEL rows per request; send the rest in further requests.")]);
        }

        var latest = clock.GetUtcNow() + options.Value.MaxFutureSkew;
        var accepted = new List<CelRow>(rows.GetArrayLength());
        var rejected = new List<RowError>();
        var i = 0;
        foreach (var element in rows.EnumerateArray())
        {
            var (row, errors) = CelParser.Parse(element, latest);
            if (row is null)
            {
                rejected.Add(new RowError(i, CelParser.ClaimedId(element), errors));
            }
            else
            {
                accepted.Add(row);
            }

            i++;
        }

        var result = await generation.IntakeAsync(areaId, accepted, generate, ct);
        return TypedResults.Ok(new CelIntakeResult(result.Accepted, result.Duplicates, rejected, result.Generated));
    }
}
