using System.Text.Json;
using System.Text.Json.Serialization;

namespace CallLogs.Contracts;

/// <summary>
/// One API call handled by a gateway (the "enriched call log" record). Field names and order
/// follow the export CSV columns; fields this platform does not know are kept in <see cref="Extra"/>.
/// </summary>
public sealed record CallRecord
{
    [JsonPropertyName("request_uuid")] public required string RequestUuid { get; init; }
    [JsonPropertyName("request_id")] public string? RequestId { get; init; }
    [JsonPropertyName("request_time")] public required DateTimeOffset RequestTime { get; init; }
    [JsonPropertyName("api_key")] public string? ApiKey { get; init; }
    [JsonPropertyName("oauth_access_token")] public string? OauthAccessToken { get; init; }
    [JsonPropertyName("api_method_name")] public string? ApiMethodName { get; init; }
    [JsonPropertyName("service_id")] public string? ServiceId { get; init; }
    [JsonPropertyName("service_name")] public string? ServiceName { get; init; }
    [JsonPropertyName("endpoint_name")] public string? EndpointName { get; init; }
    [JsonPropertyName("service_definition_endpoint_uuid")] public string? ServiceDefinitionEndpointUuid { get; init; }
    [JsonPropertyName("package_name")] public string? PackageName { get; init; }
    [JsonPropertyName("package_uuid")] public string? PackageUuid { get; init; }
    [JsonPropertyName("plan_name")] public string? PlanName { get; init; }
    [JsonPropertyName("plan_uuid")] public string? PlanUuid { get; init; }
    [JsonPropertyName("org_name")] public string? OrgName { get; init; }
    [JsonPropertyName("org_uuid")] public string? OrgUuid { get; init; }
    [JsonPropertyName("sub_org_name")] public string? SubOrgName { get; init; }
    [JsonPropertyName("sub_org_uuid")] public string? SubOrgUuid { get; init; }
    [JsonPropertyName("http_method")] public string? HttpMethod { get; init; }
    [JsonPropertyName("http_version")] public string? HttpVersion { get; init; }
    [JsonPropertyName("http_status_code")] public int? HttpStatusCode { get; init; }
    [JsonPropertyName("response_string")] public string? ResponseString { get; init; }
    [JsonPropertyName("traffic_manager")] public string? TrafficManager { get; init; }
    [JsonPropertyName("traffic_manager_error_code")] public string? TrafficManagerErrorCode { get; init; }
    [JsonPropertyName("src_ip")] public string? SrcIp { get; init; }
    [JsonPropertyName("user_agent")] public string? UserAgent { get; init; }
    [JsonPropertyName("referrer")] public string? Referrer { get; init; }
    [JsonPropertyName("request_host_name")] public string? RequestHostName { get; init; }
    [JsonPropertyName("uri")] public string? Uri { get; init; }
    [JsonPropertyName("bytes")] public long? Bytes { get; init; }
    [JsonPropertyName("cache_hit")] public bool? CacheHit { get; init; }
    [JsonPropertyName("ssl_enabled")] public bool? SslEnabled { get; init; }
    [JsonPropertyName("connect_time")] public double? ConnectTime { get; init; }
    [JsonPropertyName("pre_transfer_time")] public double? PreTransferTime { get; init; }
    [JsonPropertyName("remote_total_time")] public double? RemoteTotalTime { get; init; }
    [JsonPropertyName("client_transfer_time")] public double? ClientTransferTime { get; init; }
    [JsonPropertyName("total_request_exec_time")] public double? TotalRequestExecTime { get; init; }
    [JsonPropertyName("qps_throttle_value")] public long? QpsThrottleValue { get; init; }
    [JsonPropertyName("quota_value")] public long? QuotaValue { get; init; }
    /// <summary>Epoch milliseconds when the platform accepted the record.</summary>
    [JsonPropertyName("ingestion_time")] public long IngestionTime { get; init; }
    /// <summary>
    /// Fields the platform does not know, as the gateway sent them; kept and passed on unchanged. A normal property
    /// on the bus (MassTransit's serializer mishandles extension data); <see cref="CallRecordFields.ToFlatJson"/>
    /// puts them back beside the known fields.
    /// </summary>
    [JsonPropertyName(CallRecordFields.UnknownFieldsProperty)] public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>A batch of call records of one area, durable in the broker before the gateway got its answer.</summary>
public sealed record CallRecordsIngested
{
    public required Guid BatchId { get; init; }
    public required Guid AreaId { get; init; }
    public required DateTimeOffset AcceptedAt { get; init; }
    public required IReadOnlyList<CallRecord> Records { get; init; }
}
