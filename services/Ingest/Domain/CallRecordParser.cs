using System.Globalization;
using System.Text.Json;
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

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The record, stamped with <paramref name="ingestionTime"/>, or why it is refused.</summary>
    public static (CallRecord? Record, string? Error) Parse(JsonElement element, DateTimeOffset now, TimeSpan maxFutureSkew, long ingestionTime)
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

        if (!DateTimeOffset.TryParse(time.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var requestTime)
            || !time.GetString()!.Contains('T', StringComparison.Ordinal))
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

        Dictionary<string, JsonElement>? extra = null;
        foreach (var property in element.EnumerateObject())
        {
            if (!CallRecordFields.IsKnown(property.Name))
            {
                (extra ??= [])[property.Name] = property.Value.Clone();
            }
        }

        CallRecord record;
        try
        {
            record = element.Deserialize<CallRecord>(Json)!;
        }
        catch (JsonException e)
        {
            return (null, $"The record could not be read: {e.Message.Split('.')[0]}.");
        }

        return (record with { RequestTime = requestTime, IngestionTime = ingestionTime, Extra = extra }, null);
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
