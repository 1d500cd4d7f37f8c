using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Errors;

namespace CallLogs.Ingest.Domain;

public sealed record RecordError(int Index, string? RequestUuid, string Reason);

/// <summary>
/// What a record is checked against: request_time from <see cref="Earliest"/> (the area's retention: an older record
/// would be deleted at once) to <see cref="Latest"/> (now plus the allowed clock skew), and the ingestion time to stamp.
/// </summary>
public readonly record struct RecordLimits(DateTimeOffset Earliest, DateTimeOffset Latest, long IngestionTime)
{
    public static RecordLimits For(DateTimeOffset now, int retentionDays, TimeSpan maxFutureSkew) =>
        new(now.AddDays(-retentionDays), now + maxFutureSkew, now.ToUnixTimeMilliseconds());
}

/// <summary>
/// Checks one record as the gateway sent it: <c>request_uuid</c> and <c>request_time</c> required, the time ISO 8601
/// within the area's retention and not too far in the future, <c>http_status_code</c> 100-599, numbers of their JSON
/// type and never negative, booleans as booleans, text as text of a bounded length that PostgreSQL and every consumer
/// can store (<see cref="StorableText"/>). Fields the platform does not know are kept whatever their type, as long as
/// their text can be stored too and they are nested at most <see cref="MaxDepth"/> levels.
/// </summary>
public static class CallRecordParser
{
    public const int MaxRequestUuidLength = 200;

    /// <summary>Longest text of any other known field, in characters (URIs and user agents included).</summary>
    public const int MaxTextLength = 8192;

    /// <summary>Largest record, in bytes of JSON.</summary>
    public const int MaxRecordBytes = 64 * 1024;

    /// <summary>
    /// Deepest nesting of a record (the record itself is level 1). The batch message around it on the bus adds a few
    /// levels and must stay within the bus serializer's own limit, so a record that could never be published is
    /// refused here instead of failing the whole batch.
    /// </summary>
    public const int MaxDepth = 32;

    private static readonly HashSet<string> Integers = ["http_status_code", "bytes", "qps_throttle_value", "quota_value"];
    private static readonly HashSet<string> Decimals = ["connect_time", "pre_transfer_time", "remote_total_time", "client_transfer_time", "total_request_exec_time"];
    private static readonly HashSet<string> Booleans = ["cache_hit", "ssl_enabled"];
    private static readonly HashSet<string> Texts =
    [
        "request_uuid", "request_id", "request_time", "api_key", "oauth_access_token", "api_method_name", "service_id", "service_name",
        "endpoint_name", "service_definition_endpoint_uuid", "package_name", "package_uuid", "plan_name", "plan_uuid", "org_name",
        "org_uuid", "sub_org_name", "sub_org_uuid", "http_method", "http_version", "response_string", "traffic_manager",
        "traffic_manager_error_code", "src_ip", "user_agent", "referrer", "request_host_name", "uri",
    ];

    /// <summary>
    /// How a gateway's record is read: names exactly as documented, unknown fields into <see cref="CallRecord.Extra"/>,
    /// request_time by <see cref="TryReadTime"/>; the serializer's own type rules match <see cref="CheckType"/>.
    /// </summary>
    private static readonly JsonSerializerOptions Json = new()
    {
        MaxDepth = MaxDepth,
        Converters = { new RequestTimeConverter() },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { CallRecordFields.UnknownFieldsBesideKnownOnes } },
    };

    /// <summary>
    /// The record in <paramref name="json"/> (UTF-8), stamped with the ingestion time, or why it is refused. A good
    /// record is read and checked in one pass of the serializer (its text is scanned only when the JSON holds an escape,
    /// the only way a control character or a lone surrogate can be written); only a refused one is looked at again,
    /// field by field, to say what is wrong with it.
    /// </summary>
    public static (CallRecord? Record, string? Error) Parse(ReadOnlySpan<byte> json, RecordLimits limits)
    {
        if (json.Length > MaxRecordBytes)
        {
            return (null, $"The record is {json.Length} bytes of JSON; at most {MaxRecordBytes} are taken. Send shorter values or fewer unknown fields.");
        }

        var escaped = json.IndexOf((byte)'\\') >= 0;
        try
        {
            if (JsonSerializer.Deserialize<CallRecord>(json, Json) is { } record && Problem(record, limits, escaped) is null)
            {
                return (record with { IngestionTime = limits.IngestionTime }, null);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            // Explained below.
        }

        try
        {
            using var document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 1024 });
            return Explain(document.RootElement, limits);
        }
        catch (JsonException e) when (e.Message.Contains("depth", StringComparison.OrdinalIgnoreCase))
        {
            return (null, TooDeep);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            return (null, "The line is not valid JSON (or not valid UTF-8).");
        }
    }

    private static readonly string TooDeep = $"The record is nested more than {MaxDepth} levels deep; send unknown fields flatter.";

    /// <summary>Where each element of a JSON array body is; null if the body is not a JSON array.</summary>
    public static List<Range>? SplitArray(ReadOnlySpan<byte> body)
    {
        var elements = new List<Range>();
        // Deep records are the record check's business (one refused record, not a refused batch).
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 4096 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                elements.Add(start..(int)reader.BytesConsumed);
            }

            return reader.TokenType == JsonTokenType.EndArray && !reader.Read() ? elements : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Where each non-blank line of a newline-delimited body is, at most <paramref name="max"/> of them.</summary>
    public static List<Range> SplitLines(ReadOnlySpan<byte> body, int max)
    {
        var lines = new List<Range>();
        var start = 0;
        while (start < body.Length && lines.Count < max)
        {
            var end = body[start..].IndexOf((byte)'\n') is var n and >= 0 ? start + n : body.Length;
            if (!body[start..end].Trim(" \t\r"u8).IsEmpty)
            {
                lines.Add(start..end);
            }

            start = end + 1;
        }

        return lines;
    }

    /// <summary>The record, stamped with the ingestion time, or why it is refused, checked field by field.</summary>
    private static (CallRecord? Record, string? Error) Explain(JsonElement element, RecordLimits limits)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return (null, $"A record must be a JSON object, not {Kind(element.ValueKind)}.");
        }

        if (Depth(element, 1) > MaxDepth)
        {
            return (null, TooDeep);
        }

        foreach (var property in element.EnumerateObject())
        {
            if (!TryName(property, out var name))
            {
                return (null, $"The name of a field {Unpaired}.");
            }

            if (CheckType(property) is { } error)
            {
                return (null, error);
            }

            if (property.Value.ValueKind == JsonValueKind.String && !Readable(property.Value))
            {
                return (null, $"{(Texts.Contains(name) ? name : $"The unknown field {Cut(name)}")} {Unpaired}.");
            }

            if (!Texts.Contains(name) && UnstorableText(property.Value) is { } problem)
            {
                return (null, $"The unknown field {Cut(name)} {problem}.");
            }
        }

        if (!element.TryGetProperty("request_uuid", out var uuid) || uuid.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(uuid.GetString()))
        {
            return (null, "request_uuid is required: a non-empty string that identifies the request.");
        }

        if (!element.TryGetProperty("request_time", out var time) || time.ValueKind != JsonValueKind.String)
        {
            return (null, "request_time is required: an ISO 8601 date and time, e.g. 2019-04-19T21:56:43Z.");
        }

        if (TryReadTime(time.GetString()!) is not { } requestTime)
        {
            return (null, $"request_time '{Cut(time.GetString()!)}' is not an ISO 8601 date and time; send e.g. 2019-04-19T21:56:43Z.");
        }

        if (element.TryGetProperty("http_status_code", out var status) && status.ValueKind == JsonValueKind.Number
            && (!status.TryGetInt32(out var code) || code is < 100 or > 599))
        {
            return (null, $"http_status_code {Cut(status.GetRawText())} must be an HTTP status code from 100 to 599.");
        }

        try
        {
            var record = element.Deserialize<CallRecord>(Json)!;
            return Problem(record with { RequestTime = requestTime }, limits, escaped: true) is { } problem
                ? (null, problem)
                : (record with { IngestionTime = limits.IngestionTime }, null);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            return (null, $"The record could not be read: {e.Message.Split('.')[0]}.");
        }
    }

    /// <summary>
    /// What is wrong with a record the serializer could read, or null: its time, the length and characters of its text,
    /// the range of its numbers, the text of its unknown fields. Text is scanned only when <paramref name="escaped"/>.
    /// </summary>
    private static string? Problem(CallRecord record, RecordLimits limits, bool escaped)
    {
        if (string.IsNullOrWhiteSpace(record.RequestUuid))
        {
            return "request_uuid is required: a non-empty string that identifies the request.";
        }

        if (record.RequestUuid.Length > MaxRequestUuidLength)
        {
            return $"request_uuid must be at most {MaxRequestUuidLength} characters.";
        }

        if (record.RequestTime > limits.Latest)
        {
            return $"request_time {CallRecordFields.Time(record.RequestTime)} is in the future (the latest taken now is {CallRecordFields.Time(limits.Latest)}); check the gateway's clock.";
        }

        if (record.RequestTime < limits.Earliest)
        {
            return $"request_time {CallRecordFields.Time(record.RequestTime)} is older than this area keeps call records (the earliest taken now is {CallRecordFields.Time(limits.Earliest)}); such a record would be deleted at once.";
        }

        if (record.HttpStatusCode is < 100 or > 599)
        {
            return $"http_status_code {record.HttpStatusCode} must be an HTTP status code from 100 to 599.";
        }

        if (Negative(record) is { } negative)
        {
            return $"{negative} must not be negative (or be a finite number).";
        }

        foreach (var (name, read) in TextFields)
        {
            if (read(record) is not { } text)
            {
                continue;
            }

            if (text.Length > MaxTextLength)
            {
                return $"{name} is {text.Length} characters long; at most {MaxTextLength} are taken.";
            }

            if (escaped && StorableText.Problem(text) is { } problem)
            {
                return $"{name} {problem}.";
            }
        }

        if (escaped && record.Extra is { } extra)
        {
            foreach (var (name, value) in extra)
            {
                if (StorableText.Problem(name, allowControls: true) is { } nameProblem)
                {
                    return $"The name of an unknown field {nameProblem}.";
                }

                if (UnstorableText(value) is { } valueProblem)
                {
                    return $"The unknown field {Cut(name)} {valueProblem}.";
                }
            }
        }

        return null;
    }

    /// <summary>The name of the first number field that is negative, NaN or infinite, or null.</summary>
    private static string? Negative(CallRecord r) =>
        r.Bytes < 0 ? "bytes"
        : r.QpsThrottleValue < 0 ? "qps_throttle_value"
        : r.QuotaValue < 0 ? "quota_value"
        : BadSeconds(r.ConnectTime) ? "connect_time"
        : BadSeconds(r.PreTransferTime) ? "pre_transfer_time"
        : BadSeconds(r.RemoteTotalTime) ? "remote_total_time"
        : BadSeconds(r.ClientTransferTime) ? "client_transfer_time"
        : BadSeconds(r.TotalRequestExecTime) ? "total_request_exec_time"
        : null;

    private static bool BadSeconds(double? seconds) => seconds is { } s && (s < 0 || !double.IsFinite(s));

    private const string Unpaired = "contains an unpaired UTF-16 surrogate, which is not valid Unicode; send valid UTF-8";

    private static bool TryName(JsonProperty property, out string name)
    {
        try
        {
            name = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = "";
            return false;
        }
    }

    private static bool Readable(JsonElement text)
    {
        try
        {
            _ = text.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Text in an unknown field's value (names included, at any depth) that cannot be stored, or null.</summary>
    private static string? UnstorableText(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return Readable(value) ? StorableText.Problem(value.GetString(), allowControls: true) : Unpaired;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    if (UnstorableText(item) is { } problem)
                    {
                        return problem;
                    }
                }

                return null;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    if (!TryName(property, out var name))
                    {
                        return Unpaired;
                    }

                    if ((StorableText.Problem(name, allowControls: true) ?? UnstorableText(property.Value)) is { } problem)
                    {
                        return problem;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static int Depth(JsonElement element, int level) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Select(p => Depth(p.Value, level + 1)).DefaultIfEmpty(level).Max(),
        JsonValueKind.Array => element.EnumerateArray().Select(e => Depth(e, level + 1)).DefaultIfEmpty(level).Max(),
        _ => level - 1,
    };

    /// <summary>The text fields of a record (request_uuid's length is checked on its own), read without a copy.</summary>
    private static readonly (string Name, Func<CallRecord, string?> Read)[] TextFields =
    [
        ("request_uuid", r => r.RequestUuid), ("request_id", r => r.RequestId), ("api_key", r => r.ApiKey),
        ("oauth_access_token", r => r.OauthAccessToken), ("api_method_name", r => r.ApiMethodName), ("service_id", r => r.ServiceId),
        ("service_name", r => r.ServiceName), ("endpoint_name", r => r.EndpointName),
        ("service_definition_endpoint_uuid", r => r.ServiceDefinitionEndpointUuid), ("package_name", r => r.PackageName),
        ("package_uuid", r => r.PackageUuid), ("plan_name", r => r.PlanName), ("plan_uuid", r => r.PlanUuid), ("org_name", r => r.OrgName),
        ("org_uuid", r => r.OrgUuid), ("sub_org_name", r => r.SubOrgName), ("sub_org_uuid", r => r.SubOrgUuid),
        ("http_method", r => r.HttpMethod), ("http_version", r => r.HttpVersion), ("response_string", r => r.ResponseString),
        ("traffic_manager", r => r.TrafficManager), ("traffic_manager_error_code", r => r.TrafficManagerErrorCode), ("src_ip", r => r.SrcIp),
        ("user_agent", r => r.UserAgent), ("referrer", r => r.Referrer), ("request_host_name", r => r.RequestHostName), ("uri", r => r.Uri),
    ];

    /// <summary>An ISO 8601 date and time (with 'T'); without an offset it is UTC.</summary>
    private static DateTimeOffset? TryReadTime(ReadOnlySpan<char> text) =>
        text.Contains('T') && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : null;

    /// <summary>request_time as <see cref="TryReadTime"/> reads it; anything else is refused (and explained).</summary>
    private sealed class RequestTimeConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new JsonException();
            }

            if (reader.ValueIsEscaped || reader.ValueSpan.Length > 64)
            {
                return TryReadTime(reader.GetString()) ?? throw new JsonException();
            }

            Span<char> text = stackalloc char[64];
            var length = System.Text.Encoding.UTF8.GetChars(reader.ValueSpan, text);
            return TryReadTime(text[..length]) ?? throw new JsonException();
        }

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) => writer.WriteStringValue(value);
    }

    private static string? CheckType(JsonProperty property)
    {
        var value = property.Value;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return property.Name is "request_uuid" or "request_time" ? $"{property.Name} is required and must not be null." : null;
        }

        if (Integers.Contains(property.Name) && (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out _)))
        {
            return $"{property.Name} must be a whole number, not {Describe(value)}.";
        }

        if (Decimals.Contains(property.Name) && value.ValueKind != JsonValueKind.Number)
        {
            return $"{property.Name} must be a number (seconds), not {Describe(value)}.";
        }

        if (Booleans.Contains(property.Name) && value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return $"{property.Name} must be true or false, not {Describe(value)}.";
        }

        if (Texts.Contains(property.Name) && value.ValueKind != JsonValueKind.String)
        {
            return $"{property.Name} must be a string, not {Describe(value)}.";
        }

        return property.Name == "ingestion_time" && value.ValueKind != JsonValueKind.Number
            ? $"ingestion_time, when sent, must be a number; it is set by the platform anyway."
            : null;
    }

    private static string Describe(JsonElement value) => value.ValueKind == JsonValueKind.String ? $"the string \"{Cut(value.GetString()!)}\"" : Kind(value.ValueKind);

    private static string Cut(string text) => text.Length > 40 ? text[..40] + "…" : text;

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
