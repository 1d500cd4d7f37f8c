using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace CallLogs.Contracts;

/// <summary>
/// The fields of a call record in the column order of CSV exports, each written as text the way the gateways
/// write them (invariant culture; times as ISO 8601 UTC). Shared so every CSV and every stream frame agree.
/// </summary>
public static class CallRecordFields
{
    public static readonly IReadOnlyList<string> Names =
    [
        "request_uuid", "request_id", "request_time", "api_key", "oauth_access_token", "api_method_name",
        "service_id", "service_name", "endpoint_name", "service_definition_endpoint_uuid",
        "package_name", "package_uuid", "plan_name", "plan_uuid", "org_name", "org_uuid", "sub_org_name", "sub_org_uuid",
        "http_method", "http_version", "http_status_code", "response_string", "traffic_manager", "traffic_manager_error_code",
        "src_ip", "user_agent", "referrer", "request_host_name", "uri", "bytes", "cache_hit", "ssl_enabled",
        "connect_time", "pre_transfer_time", "remote_total_time", "client_transfer_time", "total_request_exec_time",
        "qps_throttle_value", "quota_value", "ingestion_time",
    ];

    /// <summary>The fields whose values are secrets; <see cref="Masking.MaskRecord"/> also finds them inside the other fields.</summary>
    public static readonly IReadOnlySet<string> Secrets = new HashSet<string>(["api_key", "oauth_access_token"]);

    /// <summary>The column of <paramref name="name"/> in <see cref="Names"/> (and in <see cref="Values"/>).</summary>
    public static int IndexOf(string name)
    {
        var index = NameList.IndexOf(name);
        return index >= 0 ? index : throw new ArgumentException($"'{name}' is not a call record field.", nameof(name));
    }

    private static readonly List<string> NameList = [.. Names];

    internal static readonly JsonSerializerOptions FlatOptions = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { UnknownFieldsBesideKnownOnes } },
    };

    /// <summary>
    /// The record as one flat JSON object: the known fields that have a value, then the unknown ones as they were sent.
    /// </summary>
    public static string ToFlatJson(CallRecord record) => JsonSerializer.Serialize(record, FlatOptions);

    /// <summary>The record's flat JSON (<see cref="ToFlatJson"/>) written to <paramref name="writer"/>.</summary>
    public static void WriteFlatJson(Utf8JsonWriter writer, CallRecord record) => JsonSerializer.Serialize(writer, record, FlatOptions);


    /// <summary>
    /// A contract modifier for <see cref="CallRecord"/>: its unknown fields are JSON extension data, read from and
    /// written beside the known fields (on the bus they stay a normal property, see <see cref="CallRecord.Extra"/>).
    /// </summary>
    public static void UnknownFieldsBesideKnownOnes(JsonTypeInfo info)
    {
        if (info.Type == typeof(CallRecord))
        {
            info.Properties.Single(p => p.Name == UnknownFieldsProperty).IsExtensionData = true;
        }
    }

    internal const string UnknownFieldsProperty = "__unknown_fields";

    /// <summary>The values of <paramref name="record"/> in the order of <see cref="Names"/>; null where the record has none.</summary>
    public static string?[] Values(CallRecord record) =>
    [
        record.RequestUuid, record.RequestId, Time(record.RequestTime), record.ApiKey, record.OauthAccessToken, record.ApiMethodName,
        record.ServiceId, record.ServiceName, record.EndpointName, record.ServiceDefinitionEndpointUuid,
        record.PackageName, record.PackageUuid, record.PlanName, record.PlanUuid, record.OrgName, record.OrgUuid, record.SubOrgName, record.SubOrgUuid,
        record.HttpMethod, record.HttpVersion, Number(record.HttpStatusCode), record.ResponseString, record.TrafficManager, record.TrafficManagerErrorCode,
        record.SrcIp, record.UserAgent, record.Referrer, record.RequestHostName, record.Uri, Number(record.Bytes), Bool(record.CacheHit), Bool(record.SslEnabled),
        Number(record.ConnectTime), Number(record.PreTransferTime), Number(record.RemoteTotalTime), Number(record.ClientTransferTime), Number(record.TotalRequestExecTime),
        Number(record.QpsThrottleValue), Number(record.QuotaValue), Number(record.IngestionTime),
    ];

    public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString(
        value.Millisecond == 0 && value.Ticks % TimeSpan.TicksPerMillisecond == 0 ? "yyyy-MM-ddTHH:mm:ssZ" : "yyyy-MM-ddTHH:mm:ss.FFFFFFFZ",
        CultureInfo.InvariantCulture);

    private static string? Number(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static string? Number(int? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static string? Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture);

    private static string? Bool(bool? value) => value switch { true => "true", false => "false", null => null };
}
