using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Ingest.Data;
using CallLogs.Ingest.Domain;
using CallLogs.Ingest.Extensions;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CallLogs.Ingest.Apis;

/// <summary>
/// Call records of an area: gateways post batches (JSON array or NDJSON), area admins and viewers read them back.
/// The batch answer comes only once the accepted records are confirmed by the broker.
/// </summary>
public static class CallRecordsApi
{
    private static readonly Counter<long> Accepted = Telemetry.Meter.CreateCounter<long>("calllogs.ingest.records_accepted", description: "Call records accepted (confirmed by the broker)");
    private static readonly Counter<long> Refused = Telemetry.Meter.CreateCounter<long>("calllogs.ingest.records_refused", description: "Call records refused as invalid");
    private static readonly Counter<long> Duplicates = Telemetry.Meter.CreateCounter<long>("calllogs.ingest.records_duplicate", description: "Call records already accepted before (gateway retries)");

    public static IEndpointRouteBuilder MapCallRecordsApi(this IEndpointRouteBuilder app)
    {
        var records = app.MapGroup("/api/areas/{areaId:guid}/call-records").WithTags("Call records");
        records.MapPost("/", IngestCallRecords).WithName("IngestCallRecords").RequireAreaRole(Roles.Ingest).ExcludeFromAudit()
            .Accepts<JsonElement>("application/json", "application/x-ndjson");
        records.MapGet("/", ListCallRecords).WithName("ListCallRecords").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        return app;
    }

    public sealed record IngestResponse(int Accepted, int Duplicates, int Refused, IReadOnlyList<RecordError> Errors);

    public static async Task<Results<Ok<IngestResponse>, ProblemHttpResult, UnprocessableEntity<IngestResponse>>> IngestCallRecords(
        Guid areaId, HttpContext http, BatchAcceptance acceptance, IOptions<IngestOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = settings.MaxBodyBytes;
        }

        if (http.Request.ContentLength > settings.MaxBodyBytes)
        {
            return TooLarge($"The body is {http.Request.ContentLength} bytes; at most {settings.MaxBodyBytes} are taken. Send the records in smaller batches.");
        }

        var ndjson = http.Request.ContentType?.Contains("ndjson", StringComparison.OrdinalIgnoreCase) == true;
        var (body, length) = await ReadBodyAsync(http.Request, cancellationToken);
        var now = clock.GetUtcNow();
        List<CallRecord> good;
        List<RecordError> errors;
        int repeatedInBatch;
        try
        {
            var json = body.AsMemory(0, length);
            var elements = ndjson ? CallRecordParser.SplitLines(json.Span, settings.MaxBatchRecords + 1) : CallRecordParser.SplitArray(json.Span);
            if (elements is null)
            {
                return TypedResults.Problem(statusCode: 400, title: "The body is not a batch of records.",
                    detail: "Send a JSON array of record objects (Content-Type: application/json) or one record object per line (Content-Type: application/x-ndjson).");
            }

            if (elements.Count > settings.MaxBatchRecords)
            {
                return TooLarge($"A batch may carry at most {settings.MaxBatchRecords} records. Split it and send the parts one after the other.");
            }

            (good, errors, repeatedInBatch) = Check(json, elements, now, settings.MaxFutureSkew);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }

        int accepted, duplicates;
        try
        {
            (accepted, duplicates) = await acceptance.AcceptAsync(areaId, good, now, cancellationToken);
        }
        catch (BrokerUnavailableException)
        {
            return Unavailable(http, "The message broker did not confirm the batch, so none of it was accepted. Send the same batch again after the Retry-After delay.");
        }
        catch (NpgsqlException e) when (e.IsTransient && !cancellationToken.IsCancellationRequested)
        {
            return Unavailable(http, "The database could not be reached, so none of the batch was accepted. Send the same batch again after the Retry-After delay.");
        }

        Accepted.Add(accepted);
        Refused.Add(errors.Count);
        Duplicates.Add(duplicates + repeatedInBatch);
        var response = new IngestResponse(accepted, duplicates + repeatedInBatch, errors.Count, errors);
        return errors.Count > 0 && good.Count == 0 && repeatedInBatch == 0 ? TypedResults.UnprocessableEntity(response) : TypedResults.Ok(response);
    }

    public sealed record CallRecordsPage(IReadOnlyList<JsonElement> Items, string? ContinuationToken);

    public static async Task<IResult> ListCallRecords(Guid areaId, HttpContext http, CallRecordStore store, TimeProvider clock,
        DateTimeOffset? from, DateTimeOffset? until, string? apiKey, string? service, string? endpoint, int? responseCode, string? srcIp,
        int? limit, string? continuationToken, string? format, CancellationToken cancellationToken)
    {
        var end = until ?? clock.GetUtcNow().AddMinutes(1);
        var start = from ?? end.AddHours(-1);
        (DateTimeOffset, string)? before = null;
        if (continuationToken is not null)
        {
            if (ContinuationToken.TryRead(continuationToken) is not { } position)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["continuationToken"] = ["The continuation token is not one this API gave out; send the token of the previous page unchanged, or none for the first page."],
                });
            }

            before = position;
        }

        if (start >= end)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["from"] = ["from must be earlier than until."] });
        }

        var size = Math.Clamp(limit ?? 100, 1, 1000);
        var rows = await store.QueryAsync(new CallRecordFilter(areaId, start, end, apiKey, service, endpoint, responseCode, srcIp, before, size + 1), cancellationToken);
        var next = rows.Count > size ? ContinuationToken.Write(rows[size - 1].Time, rows[size - 1].Uuid) : null;
        var page = rows.Take(size).ToList();

        var csv = string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase)
            || http.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true);
        if (csv)
        {
            if (next is not null)
            {
                http.Response.Headers["X-Continuation-Token"] = next;
            }

            var text = new StringBuilder();
            Csv.AppendRow(text, CallRecordFields.Names);
            foreach (var row in page)
            {
                Csv.AppendRow(text, CallRecordFields.Values(JsonSerializer.Deserialize<CallRecord>(row.Json, CallRecordStore.Json)!));
            }

            return TypedResults.Text(text.ToString(), "text/csv; charset=utf-8");
        }

        return TypedResults.Ok(new CallRecordsPage(page.Select(r => JsonDocument.Parse(r.Json).RootElement).ToList(), next));
    }

    private static ProblemHttpResult Unavailable(HttpContext http, string detail)
    {
        http.Response.Headers.RetryAfter = "5";
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The records could not be made durable.", detail: detail);
    }

    private static ProblemHttpResult TooLarge(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "The batch is too large.", detail: detail);

    /// <summary>Each record checked: the good ones (a repeat within the batch counted, not kept) and why the others are refused.</summary>
    private static (List<CallRecord> Good, List<RecordError> Errors, int RepeatedInBatch) Check(ReadOnlyMemory<byte> json, List<Range> elements,
        DateTimeOffset now, TimeSpan maxFutureSkew)
    {
        var good = new List<CallRecord>(elements.Count);
        var errors = new List<RecordError>();
        var seen = new HashSet<string>(elements.Count, StringComparer.Ordinal);
        var repeatedInBatch = 0;
        var ingestionTime = now.ToUnixTimeMilliseconds();
        for (var i = 0; i < elements.Count; i++)
        {
            var (record, error) = CallRecordParser.Parse(json.Span[elements[i]], now, maxFutureSkew, ingestionTime);
            if (record is null)
            {
                errors.Add(new RecordError(i, RequestUuidOf(json[elements[i]]), error!));
            }
            else if (!seen.Add(record.RequestUuid))
            {
                repeatedInBatch++;
            }
            else
            {
                good.Add(record);
            }
        }

        return (good, errors, repeatedInBatch);
    }

    /// <summary>The whole body in a pooled buffer (Kestrel enforces the size limit while it is read).</summary>
    private static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is > 0 and < int.MaxValue ? (int)request.ContentLength + 1 : 64 * 1024);
        var length = 0;
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }

            return (buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static string? RequestUuidOf(ReadOnlyMemory<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty("request_uuid", out var id) && id.ValueKind == JsonValueKind.String
                ? id.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The position after the last record of a page: its request_time and request_uuid, opaque to clients.</summary>
internal static class ContinuationToken
{
    public static string Write(DateTimeOffset time, string uuid) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{time.UtcTicks.ToString(CultureInfo.InvariantCulture)}|{uuid}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static (DateTimeOffset, string)? TryRead(string token)
    {
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=')));
            var parts = text.Split('|', 2);
            return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                ? (new DateTimeOffset(ticks, TimeSpan.Zero), parts[1])
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
