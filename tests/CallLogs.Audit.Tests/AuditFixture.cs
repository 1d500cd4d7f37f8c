using System.IO.Compression;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using CallLogs.Audit.Delivery;
using CallLogs.Contracts;
using CallLogs.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.Audit.Tests;

/// <summary>Starting the audit service for a test, and reading what it stored and delivered.</summary>
internal static class AuditFixture
{
    public static async Task<ServiceFactory<AuditServiceMarker>> StartAuditAsync(Infrastructure infra, string bucket,
        string? messaging = null, string? database = null, TimeSpan? deliveryInterval = null, IDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Audit:Bucket"] = bucket,
            // Long by default: tests drive delivery themselves through TrailWriter.
            ["Audit:DeliveryInterval"] = (deliveryInterval ?? TimeSpan.FromHours(12)).ToString(),
            ["Outbox:PollInterval"] = "00:00:00.200",
        };
        if (messaging is not null)
        {
            settings["ConnectionStrings:messaging"] = messaging;
        }

        if (database is not null)
        {
            settings["ConnectionStrings:auditdb"] = database;
        }

        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return await ServiceFactory<AuditServiceMarker>.StartAsync(infra, "audit", settings);
    }

    public static TrailWriter Writer(this ServiceFactory<AuditServiceMarker> audit) => audit.Services.GetRequiredService<TrailWriter>();

    public static async Task<JsonArray> LookupAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!["events"]!.AsArray();
    }

    public static Task<JsonArray> WaitForEventsAsync(HttpClient client, string path, int count) =>
        Eventually.Get(() => LookupAsync(client, path), events => events.Count >= count, TimeSpan.FromSeconds(60), $"{count} events at {path}");

    /// <summary>Every object of the bucket under <paramref name="prefix"/>, uncompressed.</summary>
    public static async Task<Dictionary<string, string>> ReadObjectsAsync(IAmazonS3 s3, string bucket, string prefix = "")
    {
        var objects = new Dictionary<string, string>();
        string? marker = null;
        do
        {
            var page = await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = bucket, Prefix = prefix, Marker = marker });
            foreach (var o in page.S3Objects ?? [])
            {
                using var get = await s3.GetObjectAsync(bucket, o.Key);
                using var gzip = new GZipStream(get.ResponseStream, CompressionMode.Decompress);
                using var reader = new StreamReader(gzip, Encoding.UTF8);
                objects[o.Key] = await reader.ReadToEndAsync();
            }

            marker = page.IsTruncated == true ? page.NextMarker ?? page.S3Objects?.LastOrDefault()?.Key : null;
        }
        while (marker is not null);

        return objects;
    }

    public static IEnumerable<JsonNode> Records(IEnumerable<string> logFiles) =>
        logFiles.SelectMany(content => JsonNode.Parse(content)!["Records"]!.AsArray()).Select(r => r!);

    public static AuditEventRecorded Event(Guid areaId, string eventName, DateTimeOffset time, string source = "test-src",
        string userName = "alice", bool readOnly = false, string resourceType = "widget", Guid? eventId = null) => new()
    {
        EventVersion = "1.0",
        EventId = eventId ?? Guid.NewGuid(),
        EventTime = time,
        EventSource = source,
        EventName = eventName,
        Region = "local",
        UserIdentity = new AuditUserIdentity { Type = "AreaAdmin", PrincipalId = userName + "-id", UserName = userName, AreaId = areaId, AccessKeyId = "key-" + userName },
        RequestParameters = new JsonObject { ["areaId"] = areaId.ToString() },
        RequestId = Guid.NewGuid().ToString("N"),
        ReadOnly = readOnly,
        EventType = "ApiCall",
        Resources = [new AuditResource { Type = resourceType, Name = "r-" + eventName }],
        RecipientAreaId = areaId,
        HttpStatusCode = 200,
    };

    public static Task<HttpResponseMessage> CreateWidgetAsync(HttpClient client, Guid areaId, object body) =>
        client.PostAsJsonAsync($"/api/areas/{areaId}/widgets", body);
}
