using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using CallLogs.Contracts;

namespace CallLogs.Ingest.Domain;

public sealed record RecordError(int Index, string? RequestUuid, string Reason);

/// <summary>
/// Checks one record as the gateway sent it: <c>request_uuid</c> and <c>request_time</c> required, the time ISO 8601
/// and not too far in the future, <c>http_status_code</c> 100-599, numbers and booleans of their JSON type, text as
/// text. Fields the platform does not know are kept and never make a record fail.
/// </summary>
public static class CallRecordParser
{
    public const int MaxRequestUuidLength = 200;

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
        Converters = { new RequestTimeConverter() },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { CallRecordFields.UnknownFieldsBesideKnownOnes } },
    };

    /// <summary>
    /// The record in <paramref name="json"/> (UTF-8), stamped with <paramref name="ingestionTime"/>, or why it is refused.
    /// A good record is read in one pass of the serializer; only a refused one is looked at again, field by field,
    /// to say what is wrong with it.
    /// </summary>
    public static (CallRecord? Record, string? Error) Parse(ReadOnlySpan<byte> json, DateTimeOffset now, TimeSpan maxFutureSkew, long ingestionTime)
    {
        try
        {
            if (JsonSerializer.Deserialize<CallRecord>(json, Json) is { } record && IsValid(record, now, maxFutureSkew))
            {
                return (record with { IngestionTime = ingestionTime }, null);
            }
        }
        catch (JsonException)
        {
            // Explained below.
        }

        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            return Explain(document.RootElement, now, maxFutureSkew, ingestionTime);
        }
        catch (JsonException)
        {
            return (null, "The line is not valid JSON.");
        }
    }

    /// <summary>Where each element of a JSON array body is; null if the body is not a JSON array.</summary>
    public static List<Range>? SplitArray(ReadOnlySpan<byte> body)
    {
        var elements = new List<Range>();
        var reader = new Utf8JsonReader(body);
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

    /// <summary>The record, stamped with <paramref name="ingestionTime"/>, or why it is refused, checked field by field.</summary>
    private static (CallRecord? Record, string? Error) Explain(JsonElement element, DateTimeOffset now, TimeSpan maxFutureSkew, long ingestionTime)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return (null, $"A record must be a JSON object, not {Kind(element.ValueKind)}.");
        }

        foreach (var property in element.EnumerateObject())
        {
            if (CheckType(property) is { } error)
            {
                return (null, error);
            }
        }

        if (!element.TryGetProperty("request_uuid", out var uuid) || uuid.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(uuid.GetString()))
        {
            return (null, "request_uuid is required: a non-empty string that identifies the request.");
        }

        if (uuid.GetString()!.Length > MaxRequestUuidLength)
        {
            return (null, $"request_uuid must be at most {MaxRequestUuidLength} characters.");
        }

        if (!element.TryGetProperty("request_time", out var time) || time.ValueKind != JsonValueKind.String)
        {
            return (null, "request_time is required: an ISO 8601 date and time, e.g. 2019-04-19T21:56:43Z.");
        }

        if (TryReadTime(time.GetString()!) is not { } requestTime)
        {
            return (null, $"request_time '{time.GetString()}' is not an ISO 8601 date and time; send e.g. 2019-04-19T21:56:43Z.");
        }

        if (requestTime > now + maxFutureSkew)
        {
            return (null, $"request_time {time.GetString()} is more than {maxFutureSkew.TotalMinutes:0} minutes in the future; check the gateway's clock.");
        }

        if (element.TryGetProperty("http_status_code", out var status) && status.ValueKind == JsonValueKind.Number
            && (!status.TryGetInt32(out var code) || code is < 100 or > 599))
        {
            return (null, $"http_status_code {status.GetRawText()} must be an HTTP status code from 100 to 599.");
        }

        try
        {
            return (element.Deserialize<CallRecord>(Json)! with { IngestionTime = ingestionTime }, null);
        }
        catch (JsonException e)
        {
            return (null, $"The record could not be read: {e.Message.Split('.')[0]}.");
        }
    }

    private static bool IsValid(CallRecord record, DateTimeOffset now, TimeSpan maxFutureSkew) =>
        !string.IsNullOrWhiteSpace(record.RequestUuid) && record.RequestUuid.Length <= MaxRequestUuidLength
        && record.RequestTime <= now + maxFutureSkew
        && record.HttpStatusCode is null or (>= 100 and <= 599);

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
