using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.Telephony.Data;
using CallLogs.Telephony.Domain;
using CallLogs.Telephony.Extensions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CallLogs.Telephony.Apis;

/// <summary>CEL intake: the PBX posts its CEL rows; every call a batch ends gets its call log at once (real time).</summary>
public static class CelApi
{
    public static IEndpointRouteBuilder MapCelApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/areas/{areaId:guid}/telephony/cel", IngestCel).WithName("IngestCel").WithTags("Telephony")
            .RequireAreaRole(Roles.Ingest).ExcludeFromAudit()
            .Accepts<JsonElement>("application/json");
        return app;
    }

    /// <summary>Rows taken (and duplicates ignored), rows refused with their errors, and the call logs the batch made.</summary>
    public sealed record CelIntakeResult(int Accepted, int Duplicates, IReadOnlyList<CelParser.RefusedRow> Rejected, GenerationResult Generated);

    /// <param name="generate">false: store only; a batch generation (command line, admin call, nightly run) makes the call logs.</param>
    /// <param name="request">A JSON array of CEL rows, read in one pass straight from the body's bytes.</param>
    public static async Task<Ok<CelIntakeResult>> IngestCel(Guid areaId, HttpRequest request, TelephonyGeneration generation,
        IOptions<TelephonyOptions> options, TimeProvider clock, CancellationToken ct, bool generate = true)
    {
        if (!request.HasJsonContentType())
        {
            throw new ProblemException(StatusCodes.Status415UnsupportedMediaType, "The request is not valid.",
                "Send the CEL rows as a JSON array with Content-Type: application/json.");
        }

        var batch = await ReadBatchAsync(request.BodyReader, clock.GetUtcNow() + options.Value.MaxFutureSkew, options.Value.MaxCelRowsPerRequest, ct);
        if (batch.Problem is { } problem)
        {
            throw ProblemException.Invalid("body", problem);
        }

        var result = await generation.IntakeAsync(areaId, batch.Rows, generate, ct);
        return TypedResults.Ok(new CelIntakeResult(result.Accepted, result.Duplicates, batch.Refused, result.Generated));
    }

    /// <summary>
    /// The whole body (Kestrel enforces its size limit), parsed as one span: copied from the pipe's buffers into a
    /// pooled array when it arrived in several, which costs little beside the parse.
    /// </summary>
    private static async Task<CelParser.Batch> ReadBatchAsync(PipeReader body, DateTimeOffset latest, int maxRows, CancellationToken ct)
    {
        while (true)
        {
            var read = await body.ReadAsync(ct);
            if (!read.IsCompleted)
            {
                body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                continue;
            }

            var length = checked((int)read.Buffer.Length);
            var copy = read.Buffer.IsSingleSegment ? null : ArrayPool<byte>.Shared.Rent(length);
            try
            {
                if (copy is null)
                {
                    return CelParser.ParseBatch(read.Buffer.FirstSpan, latest, maxRows);
                }

                read.Buffer.CopyTo(copy);
                return CelParser.ParseBatch(copy.AsSpan(0, length), latest, maxRows);
            }
            catch (JsonException e)
            {
                throw new BadHttpRequestException("The body is not valid JSON.", StatusCodes.Status400BadRequest, e);
            }
            finally
            {
                if (copy is not null)
                {
                    ArrayPool<byte>.Shared.Return(copy);
                }

                body.AdvanceTo(read.Buffer.End);
            }
        }
    }
}
