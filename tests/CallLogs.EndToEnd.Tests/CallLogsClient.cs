using System.IO.Compression;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Amazon.S3.Model;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Storage;
using CallLogs.Testing;

namespace CallLogs.EndToEnd.Tests;

/// <summary>What a customer, a gateway and an operator do, through the public APIs only.</summary>
public sealed class CallLogsClient(AspireSystem system)
{
    private readonly string _platform = system.Tokens.Issue(Roles.PlatformAdmin, null, "e2e-platform");

    public async Task<Guid> CreateAreaAsync()
    {
        using var http = system.Client("profile", _platform);
        using var created = await http.PostAsJsonAsync("/api/areas", new { name = $"E2E {Guid.NewGuid():N}" });
        await EnsureAsync(created);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    public string Admin(Guid area) => system.Tokens.Issue(Roles.AreaAdmin, area, "e2e-admin");

    /// <summary>
    /// An export profile collecting from the start of <paramref name="hour"/>, known to the export service when this
    /// returns. A profile's start must be in the future when it is sent, and the service rounds it to the nearest hour:
    /// the start sent is the hour itself while it is more than a minute ahead, else a minute from now, which still rounds
    /// to it (a test that computed the next hour at 02:59 and creates its profile at 03:01 still gets 03:00).
    /// </summary>
    public async Task<Guid> CreateProfileAsync(Guid area, string bucket, DateTimeOffset hour)
    {
        var soon = DateTimeOffset.UtcNow.AddMinutes(1);
        var from = hour > soon ? hour : soon;
        if (from - hour >= TimeSpan.FromMinutes(30))
        {
            throw new InvalidOperationException($"A profile can no longer collect from {hour:O}: that hour began more than half an hour ago.");
        }

        using var profile = system.Client("profile", Admin(area));
        using var created = await profile.PostAsJsonAsync($"/api/areas/{area}/export-profiles",
            new { name = $"E2E {Guid.NewGuid():N}", s3Bucket = bucket, collectFrom = from });
        await EnsureAsync(created);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        using var export = system.Client("export", Admin(area));
        await Eventually.Until(async () =>
        {
            using var status = await export.GetAsync($"/api/areas/{area}/export-profiles/{id}/export-status");
            return status.IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(60), "the export service knows the new profile");
        return id;
    }

    public async Task<string> NewBucketAsync()
    {
        var bucket = $"e2e-{Guid.NewGuid():N}"[..30];
        using var s3 = S3Settings.Parse(await system.ConnectionStringAsync("storage")).CreateClient();
        await s3.PutBucketAsync(bucket);
        return bucket;
    }

    public static Dictionary<string, object> Record(DateTimeOffset time, string apiKey = "e2e-key") => new()
    {
        ["request_uuid"] = Guid.NewGuid().ToString(),
        ["request_time"] = time.ToString("O"),
        ["http_status_code"] = 200,
        ["api_key"] = apiKey,
    };

    public async Task PostRecordsAsync(Guid area, IEnumerable<Dictionary<string, object>> records)
    {
        using var ingest = system.Client("ingest", system.Tokens.Issue(Roles.Ingest, area, "e2e-gateway"));
        using var response = await ingest.PostAsJsonAsync($"/api/areas/{area}/call-records", records);
        await EnsureAsync(response);
    }

    public async Task<string> ReadRecordsAsync(Guid area, DateTimeOffset from, DateTimeOffset until)
    {
        using var ingest = system.Client("ingest", Admin(area));
        using var response = await ingest.GetAsync($"/api/areas/{area}/call-records?from={Uri.EscapeDataString(from.ToString("O"))}&until={Uri.EscapeDataString(until.ToString("O"))}&limit=1000");
        await EnsureAsync(response);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The area's stream channel with a new token; returns the WebSocket address to subscribe with.</summary>
    public async Task<Uri> CreateStreamChannelAsync(Guid area)
    {
        using var stream = system.Client("stream", Admin(area));
        using var created = await stream.PostAsync($"/api/areas/{area}/stream-channel", null);
        await EnsureAsync(created);
        var channel = await created.Content.ReadFromJsonAsync<JsonElement>();
        var key = channel.GetProperty("tokens")[0].GetProperty("secret").GetString();
        return new Uri($"ws://{system.Url("stream").Authority}/ecls/subscribe/{area}/{channel.GetProperty("id").GetGuid()}?key={Uri.EscapeDataString(key!)}");
    }

    /// <summary>
    /// A new token for the area's channel, as an admin rotates it: the enabled token disabled (its subscribers cut),
    /// then a new one made (enabled). Returns the WebSocket address the new token subscribes with.
    /// </summary>
    public async Task<Uri> RotateStreamTokenAsync(Guid area)
    {
        using var stream = system.Client("stream", Admin(area));
        var channel = await stream.GetFromJsonAsync<JsonElement>($"/api/areas/{area}/stream-channel");
        var id = channel.GetProperty("id").GetGuid();
        foreach (var token in channel.GetProperty("tokens").EnumerateArray().Where(t => t.GetProperty("status").GetString() == "enabled"))
        {
            using var disabled = await stream.PostAsync($"/api/areas/{area}/stream-channel/tokens/{token.GetProperty("id").GetGuid()}/disable", null);
            await EnsureAsync(disabled);
        }

        using var created = await stream.PostAsync($"/api/areas/{area}/stream-channel/tokens", null);
        await EnsureAsync(created);
        var key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString();
        return new Uri($"ws://{system.Url("stream").Authority}/ecls/subscribe/{area}/{id}?key={Uri.EscapeDataString(key!)}");
    }

    public async Task RenameProfileAsync(Guid area, Guid profile, string name)
    {
        using var http = system.Client("profile", Admin(area));
        using var updated = await http.PatchAsJsonAsync($"/api/areas/{area}/export-profiles/{profile}", new { name });
        await EnsureAsync(updated);
    }

    /// <summary>The request_uuid of every record stored for the area between the two times, page by page through the public API.</summary>
    public async Task<List<string>> StoredRequestIdsAsync(Guid area, DateTimeOffset from, DateTimeOffset until)
    {
        using var ingest = system.Client("ingest", Admin(area));
        var ids = new List<string>();
        string? token = null;
        do
        {
            var query = $"/api/areas/{area}/call-records?from={Uri.EscapeDataString(from.ToString("O"))}&until={Uri.EscapeDataString(until.ToString("O"))}&limit=1000";
            var page = await ingest.GetFromJsonAsync<JsonElement>(token is null ? query : $"{query}&continuationToken={Uri.EscapeDataString(token)}");
            ids.AddRange(page.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("request_uuid").GetString()!));
            token = page.TryGetProperty("continuationToken", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (token is not null);

        return ids;
    }

    /// <summary>The eventID of every record in every log file of the platform's audit trail in S3 (digests left out).</summary>
    public async Task<List<string>> TrailEventIdsAsync()
    {
        using var s3 = S3Settings.Parse(await system.ConnectionStringAsync("storage")).CreateClient();
        var ids = new List<string>();
        var request = new ListObjectsV2Request { BucketName = "calllogs-audit", Prefix = "AuditLogs/" };
        ListObjectsV2Response listed;
        do
        {
            listed = await s3.ListObjectsV2Async(request);
            foreach (var item in (listed.S3Objects ?? []).Where(o => !o.Key.Contains("/Audit-Digest/", StringComparison.Ordinal)))
            {
                using var read = await s3.GetObjectAsync(request.BucketName, item.Key);
                await using var gzip = new GZipStream(read.ResponseStream, CompressionMode.Decompress);
                using var file = await JsonDocument.ParseAsync(gzip);
                ids.AddRange(file.RootElement.GetProperty("Records").EnumerateArray().Select(r => r.GetProperty("eventID").GetString()!));
            }

            request.ContinuationToken = listed.NextContinuationToken;
        }
        while (listed.IsTruncated == true);

        return ids;
    }

    /// <summary>Every line of every object under the profile's hour, unzipped (header lines included).</summary>
    public async Task<List<string>> ExportedLinesAsync(string bucket, Guid area, Guid profile, DateTimeOffset hour)
    {
        using var s3 = S3Settings.Parse(await system.ConnectionStringAsync("storage")).CreateClient();
        var lines = new List<string>();
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = $"{area}/{profile}/{hour.UtcDateTime:yyyy'/'MM'/'dd'/'HH}/" };
        ListObjectsV2Response listed;
        do
        {
            // Page by page: a busy hour has more objects than one listing returns (1,000).
            listed = await s3.ListObjectsV2Async(request);
            foreach (var item in listed.S3Objects ?? [])
            {
                using var read = await s3.GetObjectAsync(bucket, item.Key);
                await using var gzip = new GZipStream(read.ResponseStream, CompressionMode.Decompress);
                using var reader = new StreamReader(gzip, Encoding.UTF8);
                while (await reader.ReadLineAsync() is { } line)
                {
                    lines.Add(line);
                }
            }

            request.ContinuationToken = listed.NextContinuationToken;
        }
        while (listed.IsTruncated == true);

        return lines;
    }

    public async Task<List<JsonElement>> AuditEventsAsync(Guid area, string eventName)
    {
        using var audit = system.Client("audit", Admin(area));
        using var response = await audit.GetAsync($"/api/areas/{area}/audit/events?eventName={eventName}&maxResults=50");
        await EnsureAsync(response);
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events").EnumerateArray()];
    }

    /// <summary>The CEL rows Asterisk writes for a call from 1001 to 1002, answered after 3 s, hung up by the caller at 11 s.</summary>
    public static List<Dictionary<string, object>> AnsweredCall(string linkedId, DateTimeOffset start)
    {
        var id = start.ToUnixTimeMilliseconds();
        Dictionary<string, object> Row(string type, double at, string channel, string uniqueId, string name, string number, string exten) => new()
        {
            ["id"] = ++id, ["eventtype"] = type, ["eventtime"] = start.AddSeconds(at).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff"),
            ["cid_name"] = name, ["cid_num"] = number, ["exten"] = exten, ["context"] = "default", ["channame"] = channel,
            ["uniqueid"] = uniqueId, ["linkedid"] = linkedId,
        };
        var (caller, callee) = ("SIP/alice-0001", "SIP/bob-0002");
        return
        [
            Row("CHAN_START", 0, caller, linkedId, "Alice", "1001", "1002"),
            Row("CHAN_START", 1, callee, linkedId + "9", "Bob", "1002", "s"),
            Row("BRIDGE_ENTER", 3, caller, linkedId, "Alice", "1001", ""),
            Row("BRIDGE_ENTER", 3, callee, linkedId + "9", "Bob", "1002", ""),
            Row("CHAN_END", 10, callee, linkedId + "9", "Bob", "1002", ""),
            Row("CHAN_END", 11, caller, linkedId, "Alice", "1001", ""),
            Row("LINKEDID_END", 12, caller, linkedId, "Alice", "1001", ""),
        ];
    }

    /// <summary>Posts CEL rows as the area's PBX does; returns the intake result (accepted, rejected, generated).</summary>
    public async Task<JsonElement> PostCelAsync(Guid area, IEnumerable<Dictionary<string, object>> rows)
    {
        using var telephony = system.Client("telephony", system.Tokens.Issue(Roles.Ingest, area, "e2e-pbx"));
        using var response = await telephony.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", rows);
        await EnsureAsync(response);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<List<JsonElement>> TelephonyCallLogsAsync(Guid area)
    {
        using var telephony = system.Client("telephony", Admin(area));
        using var response = await telephony.GetAsync($"/api/areas/{area}/telephony/call-logs");
        await EnsureAsync(response);
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()];
    }

    /// <summary>Collects the text frames a subscriber receives until it is disposed.</summary>
    public sealed class Subscriber : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly StringBuilder _received = new();
        private Task _reading = Task.CompletedTask;

        public string Received
        {
            get
            {
                lock (_received)
                {
                    return _received.ToString();
                }
            }
        }

        public WebSocketState State => _socket.State;

        public static async Task<Subscriber> ConnectAsync(Uri address)
        {
            var subscriber = new Subscriber();
            await subscriber._socket.ConnectAsync(address, CancellationToken.None);
            subscriber._reading = subscriber.ReadAsync();
            return subscriber;
        }

        private async Task ReadAsync()
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (_socket.State == WebSocketState.Open)
                {
                    var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    lock (_received)
                    {
                        _received.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
            {
                // Stopped by the test or closed by the server.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _reading;
            _socket.Abort();
            _socket.Dispose();
            _stop.Dispose();
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
