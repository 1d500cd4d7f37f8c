using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Secrets;
using CallLogs.Ingest.Backpressure;
using CallLogs.Ingest.Data;
using CallLogs.Ingest.Domain;
using CallLogs.Ingest.Extensions;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Errors;
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
    private static readonly Counter<long> Deferred = Telemetry.Meter.CreateCounter<long>("calllogs.ingest.batches_deferred", description: "Batches answered 503 because the consumers of accepted records are behind");
    private static readonly Counter<long> Duplicates = Telemetry.Meter.CreateCounter<long>("calllogs.ingest.records_duplicate", description: "Call records already accepted before (gateway retries)");

    /// <summary>
    /// Gateways post large batches, many at once: a bucket of their own per caller (a batch of 100 records or more at
    /// this rate is well past 20,000 records/s), and at most a few batches in work at once per instance, so a slow
    /// broker or database holds a bounded number of connections and the others wait briefly or get 429.
    /// </summary>
    public static readonly RateLimitClass IngestLimits = new("ingest", PermitsPerSecond: 200, Burst: 400, Concurrency: 16, QueueLimit: 64);

    public static IEndpointRouteBuilder MapCallRecordsApi(this IEndpointRouteBuilder app)
    {
        var records = app.MapGroup("/api/areas/{areaId:guid}/call-records").WithTags("Call records");
        records.MapPost("/", IngestCallRecords).WithName("IngestCallRecords").RequireAreaRole(Roles.Ingest).ExcludeFromAudit()
            .WithRateLimitClass(IngestLimits)
            .Accepts<JsonElement>("application/json", "application/x-ndjson");
        records.MapGet("/", ListCallRecords).WithName("ListCallRecords").RequireAreaRole(Roles.AreaAdmin, Roles.AreaViewer);
        return app;
    }

    public sealed record IngestResponse(int Accepted, int Duplicates, int Refused, IReadOnlyList<RecordError> Errors);

    public static async Task<Ok<IngestResponse>> IngestCallRecords(
        Guid areaId, HttpContext http, BatchAcceptance acceptance, AreaRetentionCache retention, DownstreamLag downstream, IOptions<IngestOptions> options,
        IOptions<BackpressureOptions> backpressure, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (downstream.IsBehind)
        {
            Deferred.Add(1);
            throw ProblemException.Unavailable("Ingest is holding batches back.",
                "The consumers of accepted records are behind, so none of this batch was accepted. Send the same batch again after the Retry-After delay.",
                backpressure.Value.RetryAfter);
        }

        var settings = options.Value;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = settings.MaxBodyBytes;
        }

        if (http.Request.ContentLength > settings.MaxBodyBytes)
        {
            throw TooLarge($"The body is {http.Request.ContentLength} bytes; at most {settings.MaxBodyBytes} are taken. Send the records in smaller batches.");
        }

        var ndjson = http.Request.ContentType?.Contains("ndjson", StringComparison.OrdinalIgnoreCase) == true;
        var (body, length) = await ReadBodyAsync(http.Request, settings.MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            throw TooLarge($"The body is more than {settings.MaxBodyBytes} bytes. Send the records in smaller batches.");
        }

        var now = clock.GetUtcNow();
        List<CallRecord> good;
        List<RecordError> errors;
        int repeatedInBatch, retentionDays;
        RecordLimits limits;
        try
        {
            var json = body.AsMemory(0, length);
            var elements = ndjson ? CallRecordParser.SplitLines(json.Span, settings.MaxBatchRecords + 1) : CallRecordParser.SplitArray(json.Span);
            if (elements is null)
            {
                throw new ProblemException(StatusCodes.Status400BadRequest, "The body is not a batch of records.",
                    "Send a JSON array of record objects (Content-Type: application/json) or one record object per line (Content-Type: application/x-ndjson).");
            }

            if (elements.Count > settings.MaxBatchRecords)
            {
                throw TooLarge($"A batch may carry at most {settings.MaxBatchRecords} records. Split it and send the parts one after the other.");
            }

            limits = RecordLimits.For(now, retentionDays = await retention.DaysAsync(areaId, cancellationToken), settings.MaxFutureSkew);
            (good, errors, repeatedInBatch) = Check(json, elements, limits);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }

        int accepted, duplicates;
        try
        {
            (accepted, duplicates) = await acceptance.AcceptAsync(areaId, good, now, retentionDays, cancellationToken);
        }
        catch (BrokerUnavailableException)
        {
            throw Unavailable("The message broker did not confirm the batch, so none of it was accepted. Send the same batch again after the Retry-After delay.");
        }
        catch (NpgsqlException e) when (e.IsTransient && !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable("The database could not be reached, so none of the batch was accepted. Send the same batch again after the Retry-After delay.");
        }

        Accepted.Add(accepted);
        Refused.Add(errors.Count);
        Duplicates.Add(duplicates + repeatedInBatch);
        var response = new IngestResponse(accepted, duplicates + repeatedInBatch, errors.Count, errors);
        // Every record refused: a problem (422) that carries the same per-record errors as a partial success does.
        return errors.Count > 0 && good.Count == 0 && repeatedInBatch == 0
            ? throw new ProblemException(StatusCodes.Status422UnprocessableEntity, "No record of the batch could be taken.",
                "Every record was refused; 'errors' gives each one's index and reason. Correct them and send the batch again.")
            {
                Extensions = new Dictionary<string, object?> { ["accepted"] = 0, ["duplicates"] = 0, ["refused"] = errors.Count, ["errors"] = errors },
            }
            : TypedResults.Ok(response);
    }

    public sealed record CallRecordsPage(IReadOnlyList<JsonElement> Items, string? ContinuationToken);

    /// <summary>
    /// An area's call records, newest first, as JSON (default) or CSV (<c>format=csv</c> or <c>Accept: text/csv</c>).
    /// Their sealed secrets are opened (<see cref="SecretSeal"/>); api_key and oauth_access_token are masked for area viewers
    /// wherever they appear, by the rule of exports and streams
    /// (<see cref="Masking"/>, <see cref="IngestOptions.ViewerUnmaskedCharacters"/> kept at each end); only area admins
    /// and platform admins, who set up the gateways, exports and streams that carry the keys anyway, see them raw.
    /// </summary>
    public static async Task<IResult> ListCallRecords(Guid areaId, [AsParameters] CallRecordQuery query, HttpContext http, CallRecordStore store,
        SecretSeal seal, TimeProvider clock, IOptions<IngestOptions> options, CancellationToken cancellationToken)
    {
        var (start, end) = query.Window(clock.GetUtcNow());
        var before = query.ContinuationToken is { } token ? ContinuationToken.TryRead(token) : null;
        var size = query.Limit ?? 100;
        var rows = await store.QueryAsync(new CallRecordFilter(areaId, start, end, query.ApiKey, query.Service, query.Endpoint, query.ResponseCode, query.SrcIp, before, size + 1), cancellationToken);
        var next = rows.Count > size ? ContinuationToken.Write(rows[size - 1].Time, rows[size - 1].Uuid) : null;
        var page = rows.Take(size).ToList();
        int? maskKeep = http.User.IsPlatformAdmin() || http.User.IsInRole(Roles.AreaAdmin) ? null : options.Value.ViewerUnmaskedCharacters;

        var csv = query.Format == "csv"
            || (query.Format is null && http.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true));
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
                var values = seal.Open(CallRecordFields.Values(JsonSerializer.Deserialize<CallRecord>(row.Json, CallRecordStore.Json)!));
                Csv.AppendRow(text, maskKeep is { } keep ? Masking.MaskRecord(values, keep) : values);
            }

            return TypedResults.Text(text.ToString(), "text/csv; charset=utf-8");
        }

        return TypedResults.Ok(new CallRecordsPage(page.Select(r => Item(r.Json, maskKeep, seal)).ToList(), next));
    }

    public const int MaxPageSize = 1000;

    /// <summary>
    /// A stored record as the API shows it: its sealed secrets opened, and for a viewer masked wherever they appear (at any
    /// depth of an unknown field too), <c>request_id</c> by <see cref="Masking.MaskRequestId"/>.
    /// </summary>
    private static JsonElement Item(string json, int? maskKeep, SecretSeal seal)
    {
        if (maskKeep is null && !json.Contains("\\u0001", StringComparison.Ordinal))
        {
            return JsonDocument.Parse(json).RootElement;
        }

        var item = JsonNode.Parse(json)!.AsObject();
        seal.Open(item);
        string? Text(string name) => item[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        var (apiKey, token, requestId) = (Text("api_key"), Text("oauth_access_token"), Text("request_id"));
        SecretSeal.EnsureOpen(apiKey);
        SecretSeal.EnsureOpen(token);
        if (maskKeep is { } keep)
        {
            SecretSeal.MapStrings(item, text => Masking.MaskEmbedded(text, apiKey, token, keep));
            foreach (var (name, value) in (ReadOnlySpan<(string, string?)>)[("api_key", Masking.Mask(apiKey, keep)), ("oauth_access_token", Masking.Mask(token, keep)),
                ("request_id", Masking.MaskEmbedded(Masking.MaskRequestId(requestId, keep), apiKey, token, keep))])
            {
                if (value is not null)
                {
                    item[name] = value;
                }
            }
        }

        return JsonSerializer.SerializeToElement(item);
    }

    private static ProblemException Unavailable(string detail) => ProblemException.Unavailable("The records could not be made durable.", detail);

    private static ProblemException TooLarge(string detail) => new(StatusCodes.Status413PayloadTooLarge, "The batch is too large.", detail);

    /// <summary>Each record checked: the good ones (a repeat within the batch counted, not kept) and why the others are refused.</summary>
    private static (List<CallRecord> Good, List<RecordError> Errors, int RepeatedInBatch) Check(ReadOnlyMemory<byte> json, List<Range> elements,
        RecordLimits limits)
    {
        var good = new List<CallRecord>(elements.Count);
        var errors = new List<RecordError>();
        var seen = new HashSet<string>(elements.Count, StringComparer.Ordinal);
        var repeatedInBatch = 0;
        for (var i = 0; i < elements.Count; i++)
        {
            var (record, error) = CallRecordParser.Parse(json.Span[elements[i]], limits);
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

    /// <summary>
    /// The whole body in a pooled buffer, or a null buffer when it is larger than <paramref name="maxBytes"/>. The buffer
    /// starts small and grows as the bytes arrive, so a client that declares a large body and sends it slowly holds
    /// little memory; the limit holds whatever the declared length (Kestrel enforces it too, while reading).
    /// </summary>
    private static async Task<(byte[]? Buffer, int Length)> ReadBodyAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        const int FirstSize = 64 * 1024;
        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is > 0 and < FirstSize ? (int)request.ContentLength + 1 : FirstSize);
        var length = 0;
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
                if (length > maxBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (null, 0);
                }

                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, Math.Min(maxBytes + 1, Array.MaxLength)));
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
        OpaqueToken.Encode(Encoding.UTF8.GetBytes($"{time.UtcTicks.ToString(CultureInfo.InvariantCulture)}|{uuid}"));

    /// <summary>The position in a token this API wrote, or null for anything else (whatever its length or content).</summary>
    public static (DateTimeOffset, string)? TryRead(string token)
    {
        if (!OpaqueToken.TryDecode(token, out var bytes))
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(bytes);
        var parts = text.Split('|', 2);
        return parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks
            && parts[1].Length is > 0 and <= CallRecordParser.MaxRequestUuidLength
            && StorableText.IsStorable(parts[1])
                ? (new DateTimeOffset(ticks, TimeSpan.Zero), parts[1])
                : null;
    }
}
