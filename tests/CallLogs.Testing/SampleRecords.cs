using System.Globalization;
using System.Reflection;
using System.Text.Json.Serialization;
using CallLogs.Contracts;

namespace CallLogs.Testing;

/// <summary>Call records for tests and benchmarks: as a gateway posts them, and realistic ones with every field filled.</summary>
public static class SampleRecords
{
    /// <summary>
    /// Every field of <see cref="CallRecord"/> that is a CSV column, read from the type itself: tests over them cover a
    /// field added to the record without a list of their own to keep.
    /// </summary>
    public static IEnumerable<(string Name, PropertyInfo Property)> Fields() =>
        typeof(CallRecord).GetProperties()
            .Select(p => (Name: p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name, Property: p))
            .Where(f => f.Name is not null && CallRecordFields.Names.Contains(f.Name))
            .Select(f => (f.Name!, f.Property));

    /// <summary>
    /// One call record as a gateway posts it (its JSON field names): a minute old unless <paramref name="time"/> says
    /// otherwise, with a field ingest does not know (<c>x_gateway_extra</c>), which it keeps.
    /// </summary>
    public static Dictionary<string, object?> Posted(string? uuid = null, DateTimeOffset? time = null, int status = 200, string apiKey = "key-1") => new()
    {
        ["request_uuid"] = uuid ?? Guid.NewGuid().ToString(),
        ["request_time"] = (time ?? DateTimeOffset.UtcNow.AddMinutes(-1)).ToString("O"),
        ["api_key"] = apiKey,
        ["service_name"] = "Weather API",
        ["endpoint_name"] = "forecast",
        ["http_status_code"] = status,
        ["src_ip"] = "10.1.2.3",
        ["bytes"] = 1024,
        ["cache_hit"] = false,
        ["total_request_exec_time"] = 0.125,
        ["x_gateway_extra"] = "kept",
    };

    private static readonly string[] Services = ["Weather API", "Maps API", "Payments API"];

    public static string Key(int index) => $"key-{index % 50:000}-abcdefghijklmnop";

    /// <summary>
    /// A realistic record with every field filled, for benchmarks (50 api keys, 3 services, mostly 200s): record
    /// <paramref name="index"/> of <paramref name="total"/>, spread evenly over <paramref name="hours"/> hours from <paramref name="start"/>.
    /// </summary>
    public static CallRecord Make(DateTimeOffset start, int hours, int total, int index) => new()
    {
        RequestUuid = Guid.NewGuid().ToString(),
        RequestId = string.Create(CultureInfo.InvariantCulture, $"{start.ToUnixTimeSeconds()}.{index}__{Key(index)}"),
        RequestTime = start.AddTicks(TimeSpan.FromHours(hours).Ticks / total * index),
        ApiKey = Key(index),
        OauthAccessToken = index % 7 == 0 ? "-" : $"token-{index % 1000:0000}-zyxwvutsrqponm",
        ApiMethodName = "getForecast",
        ServiceId = $"svc-{index % 3}",
        ServiceName = Services[index % 3],
        EndpointName = "forecast",
        HttpMethod = "GET",
        HttpVersion = "HTTP/1.1",
        HttpStatusCode = index % 20 == 0 ? 500 : index % 10 == 0 ? 404 : 200,
        ResponseString = index % 20 == 0 ? "500_Internal_Server_Error" : index % 10 == 0 ? "404_Not_Found" : "200_OK_API",
        TrafficManager = "tm-1.example.net",
        TrafficManagerErrorCode = "-",
        SrcIp = string.Create(CultureInfo.InvariantCulture, $"10.0.{index % 256}.{index / 256 % 256}"),
        UserAgent = "Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
        Referrer = "-",
        RequestHostName = "api.example.net",
        Uri = "/v1/forecast?city=Lyon&units=metric",
        Bytes = 512 + index % 4096,
        CacheHit = index % 3 == 0,
        SslEnabled = true,
        ConnectTime = 0.001,
        PreTransferTime = 0.002,
        RemoteTotalTime = 0.05,
        ClientTransferTime = 0.001,
        TotalRequestExecTime = 0.055,
        QpsThrottleValue = 10,
        QuotaValue = 1000,
        IngestionTime = start.ToUnixTimeMilliseconds(),
    };
}
