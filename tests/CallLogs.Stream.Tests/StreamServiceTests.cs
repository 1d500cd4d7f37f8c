using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Stream.Apis;
using CallLogs.Stream.Data;
using CallLogs.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.Stream.Tests;

/// <summary>The stream service on a real port, against the real PostgreSQL and RabbitMQ, with WebSocket and SignalR clients.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class StreamServiceTests(Infrastructure infra) : IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private ServiceFactory<StreamDbContext> _service = null!;
    private EventCollector _bus = null!;
    private readonly Guid _area = Guid.NewGuid();
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _service = await ServiceFactory<StreamDbContext>.StartAsync(infra, "stream", new Dictionary<string, string?>
        {
            ["Stream:HeartbeatInterval"] = "00:00:00.500",
            ["Stream:LeaseTimeToLive"] = "00:00:03",
            ["Stream:KeepAliveInterval"] = "00:00:02",
            ["Stream:MaxBufferedRecords"] = "2000",
        }, kestrel: true);
        _bus = await EventCollector.StartAsync(_service.Configuration["ConnectionStrings:messaging"]!);
        _admin = _service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, _area, "admin"));
    }

    public async Task DisposeAsync()
    {
        await _bus.DisposeAsync();
        await _service.DisposeAsync();
    }

    private async Task<ChannelsApi.ChannelResponse> CreateChannelAsync(HttpClient? admin = null, Guid? area = null)
    {
        using var response = await (admin ?? _admin).PostAsync($"/api/areas/{area ?? _area}/stream-channel", null);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<ChannelsApi.ChannelResponse>(Json))!;
    }

    private Uri SubscribeUri(Guid area, Guid channel, string key) =>
        new($"ws://{_service.BaseAddress.Authority}/ecls/subscribe/{area}/{channel}?key={key}");

    private async Task<ClientWebSocket> ConnectAsync(Guid channel, string key, Guid? area = null)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(SubscribeUri(area ?? _area, channel, key), CancellationToken.None);
        return socket;
    }

    /// <summary>The records as ingest publishes them: their secrets sealed.</summary>
    private Task PublishAsync(Guid area, params CallRecord[] records) =>
        _bus.Publish(new CallRecordsIngested { BatchId = Guid.NewGuid(), AreaId = area, AcceptedAt = DateTimeOffset.UtcNow, Records = [.. records.Select(infra.Seal.Seal)] });

    private static CallRecord Record(string? apiKey = "0123456789") => new()
    {
        RequestUuid = Guid.NewGuid().ToString(),
        RequestTime = DateTimeOffset.UtcNow,
        ApiKey = apiKey,
        HttpStatusCode = 200,
        IngestionTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
    };

    private static async Task<string?> ReceiveTextAsync(WebSocket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[1 << 20];
        var text = new StringBuilder();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cts.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
                if (result.EndOfMessage)
                {
                    return text.ToString();
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits until the subscription is registered: a record published now reaches it.</summary>
    private async Task<List<string>> ReceiveUuidsAsync(WebSocket socket, int count, TimeSpan timeout)
    {
        var uuids = new List<string>();
        var deadline = DateTime.UtcNow + timeout;
        while (uuids.Count < count && DateTime.UtcNow < deadline)
        {
            var frame = await ReceiveTextAsync(socket, deadline - DateTime.UtcNow);
            if (frame is null)
            {
                break;
            }

            using var json = JsonDocument.Parse(frame);
            if (json.RootElement.TryGetProperty("data", out var data))
            {
                uuids.AddRange(data.EnumerateArray().Select(r => r.GetProperty("request_uuid").GetString()!));
            }
        }

        return uuids;
    }

    [Fact]
    public async Task Generate_makes_the_one_channel_named_after_the_area_with_an_enabled_token_shown_once()
    {
        await _bus.Publish(new AreaCreated { AreaId = _area, Name = "Acme", CreatedAt = DateTimeOffset.UtcNow });
        await Eventually.Until(async () =>
        {
            await using var scope = _service.Services.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<StreamDbContext>().Areas.FindAsync(_area) is not null;
        });

        var channel = await CreateChannelAsync();

        Assert.Equal("Channel for Acme", channel.Name);
        var token = Assert.Single(channel.Tokens);
        Assert.Equal("enabled", token.Status);
        Assert.NotNull(token.Secret);
        Assert.Contains($"/ecls/subscribe/{_area}/{channel.Id}?key={token.Secret}", token.SubscribeUrl);
        var read = await _admin.GetFromJsonAsync<ChannelsApi.ChannelResponse>($"/api/areas/{_area}/stream-channel", Json);
        Assert.Null(read!.Tokens.Single().Secret);
    }

    [Fact]
    public async Task Concurrent_generate_requests_make_exactly_one_channel()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _admin.PostAsync($"/api/areas/{_area}/stream-channel", null)));
        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Created);
        Assert.All(answers.Where(a => a.StatusCode != HttpStatusCode.Created), a => Assert.Equal(HttpStatusCode.Conflict, a.StatusCode));
    }

    [Fact]
    public async Task At_most_one_token_is_enabled_a_new_one_needs_the_current_disabled_and_a_channel_cannot_be_deleted()
    {
        var channel = await CreateChannelAsync();
        var first = channel.Tokens.Single();

        using var refused = await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens", null);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("Disable the current token first", await refused.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens/{first.Id}/disable", null)).StatusCode);
        using var created = await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var second = (await created.Content.ReadFromJsonAsync<ChannelsApi.TokenResponse>(Json))!;
        Assert.Equal("enabled", second.Status);

        Assert.Equal(HttpStatusCode.Conflict, (await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens/{first.Id}/enable", null)).StatusCode);

        using var delete = await _admin.DeleteAsync($"/api/areas/{_area}/stream-channel");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        Assert.Contains("cannot be deleted", await delete.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Concurrent_enables_and_new_tokens_leave_exactly_one_token_enabled()
    {
        var channel = await CreateChannelAsync();
        var first = channel.Tokens.Single();
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens/{first.Id}/disable", null)).StatusCode);
        using (var created = await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens", null))
        {
            var second = (await created.Content.ReadFromJsonAsync<ChannelsApi.TokenResponse>(Json))!;
            Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens/{second.Id}/disable", null)).StatusCode);
        }

        // Two disabled tokens; at once: enable the first (5 times), enable the second (5 times), make new ones (5 times).
        var read = (await _admin.GetFromJsonAsync<ChannelsApi.ChannelResponse>($"/api/areas/{_area}/stream-channel", Json))!;
        var requests = read.Tokens.SelectMany(t => Enumerable.Repeat($"/api/areas/{_area}/stream-channel/tokens/{t.Id}/enable", 5))
            .Concat(Enumerable.Repeat($"/api/areas/{_area}/stream-channel/tokens", 5))
            .Select(async url =>
            {
                using var response = await _admin.PostAsync(url, null);
                return (Url: url, response.StatusCode);
            });
        var answers = await Task.WhenAll(requests);

        // One request wins (enabling the token it enabled again is fine: it is already the enabled one); every other is refused.
        var won = answers.Where(a => a.StatusCode is HttpStatusCode.OK or HttpStatusCode.Created).ToList();
        Assert.Single(won.Select(a => a.Url).Distinct());
        Assert.True(won.Count == 1 || won[0].Url.EndsWith("/enable", StringComparison.Ordinal), "only enabling the same token again can succeed twice");
        Assert.All(answers.Except(won), a => Assert.Equal(HttpStatusCode.Conflict, a.StatusCode));
        var after = (await _admin.GetFromJsonAsync<ChannelsApi.ChannelResponse>($"/api/areas/{_area}/stream-channel", Json))!;
        var enabled = Assert.Single(after.Tokens, t => t.Status == "enabled");
        if (won[0].Url.EndsWith("/enable", StringComparison.Ordinal))
        {
            Assert.Contains(enabled.Id.ToString(), won[0].Url);
        }
    }

    [Fact]
    public async Task Viewers_cannot_see_the_configuration_and_other_areas_cannot_find_it()
    {
        await CreateChannelAsync();
        using var viewer = _service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, _area, "viewer"));
        using var stranger = _service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, Guid.NewGuid(), "stranger"));
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync($"/api/areas/{_area}/stream-channel")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/api/areas/{_area}/stream-channel")).StatusCode);
    }

    [Fact]
    public async Task A_websocket_subscriber_gets_its_areas_records_as_string_frames_and_another_areas_token_gets_nothing()
    {
        var channel = await CreateChannelAsync();
        var otherArea = Guid.NewGuid();
        using var otherAdmin = _service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, otherArea, "other"));
        var otherChannel = await CreateChannelAsync(otherAdmin, otherArea);
        using var socket = await ConnectAsync(channel.Id, channel.Tokens[0].Secret!);
        using var other = await ConnectAsync(otherChannel.Id, otherChannel.Tokens[0].Secret!, otherArea);

        string? frame = null;
        await Eventually.Until(async () =>
        {
            await PublishAsync(_area, Record());
            frame = await ReceiveTextAsync(socket, TimeSpan.FromMilliseconds(500));
            return frame is not null;
        }, TimeSpan.FromSeconds(30), "the subscriber receives a record");

        using var json = JsonDocument.Parse(frame!);
        var record = json.RootElement.GetProperty("data")[0];
        Assert.All(record.EnumerateObject(), p => Assert.Equal(JsonValueKind.String, p.Value.ValueKind));
        Assert.True(record.TryGetProperty("ingestion_time", out _));
        Assert.Equal("0123456789", record.GetProperty("api_key").GetString());
        Assert.Null(await ReceiveTextAsync(other, TimeSpan.FromSeconds(1)));

        // The wrong key for this channel is refused before any upgrade.
        var intruder = new ClientWebSocket();
        await Assert.ThrowsAnyAsync<WebSocketException>(() => intruder.ConnectAsync(SubscribeUri(_area, channel.Id, otherChannel.Tokens[0].Secret!), CancellationToken.None));
    }

    [Fact]
    public async Task With_masking_on_the_channel_sends_api_keys_masked()
    {
        await CreateChannelAsync();
        using var patch = await _admin.PatchAsJsonAsync($"/api/areas/{_area}/stream-channel", new { maskSensitiveData = true, unmaskedCharacters = 3 });
        var channel = (await patch.Content.ReadFromJsonAsync<ChannelsApi.ChannelResponse>(Json))!;
        await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens/{channel.Tokens[0].Id}/disable", null);
        var token = (await (await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens", null)).Content.ReadFromJsonAsync<ChannelsApi.TokenResponse>(Json))!;
        using var socket = await ConnectAsync(channel.Id, token.Secret!);

        string? frame = null;
        await Eventually.Until(async () =>
        {
            await PublishAsync(_area, Record());
            frame = await ReceiveTextAsync(socket, TimeSpan.FromMilliseconds(500));
            return frame is not null;
        });
        Assert.Equal("012****789", JsonDocument.Parse(frame!).RootElement.GetProperty("data")[0].GetProperty("api_key").GetString());
    }

    [Fact]
    public async Task Switching_masking_on_masks_the_records_of_subscribers_already_connected()
    {
        var channel = await CreateChannelAsync();
        using var socket = await ConnectAsync(channel.Id, channel.Tokens[0].Secret!);
        string? frame = null;
        await Eventually.Until(async () =>
        {
            await PublishAsync(_area, Record());
            frame = await ReceiveTextAsync(socket, TimeSpan.FromMilliseconds(500));
            return frame is not null;
        });
        Assert.Equal("0123456789", JsonDocument.Parse(frame!).RootElement.GetProperty("data")[0].GetProperty("api_key").GetString());

        using var patch = await _admin.PatchAsJsonAsync($"/api/areas/{_area}/stream-channel", new { maskSensitiveData = true, unmaskedCharacters = 2 });
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        var marker = Record();
        await PublishAsync(_area, marker);
        var uuids = new List<string>();
        await Eventually.Until(async () =>
        {
            var next = await ReceiveTextAsync(socket, TimeSpan.FromSeconds(1));
            if (next is not null && next.Contains(marker.RequestUuid, StringComparison.Ordinal))
            {
                frame = next;
                return true;
            }

            return false;
        }, TimeSpan.FromSeconds(20), "the marker record arrives");
        var item = JsonDocument.Parse(frame!).RootElement.GetProperty("data").EnumerateArray().Single(r => r.GetProperty("request_uuid").GetString() == marker.RequestUuid);
        Assert.Equal("01******89", item.GetProperty("api_key").GetString());
    }

    [Fact]
    public async Task A_refused_signalr_client_sees_its_start_fail_with_the_reason()
    {
        var channel = await CreateChannelAsync();
        await using var wrongKey = new HubConnectionBuilder()
            .WithUrl(new Uri(_service.BaseAddress, $"/ecls/hub?areaId={_area}&channelId={channel.Id}&key=not-the-key"))
            .Build();
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => wrongKey.StartAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        await using var skipping = new HubConnectionBuilder()
            .WithUrl(new Uri(_service.BaseAddress, $"/ecls/hub?areaId={_area}&channelId={channel.Id}&key=not-the-key"), o =>
            {
                o.SkipNegotiation = true;
                o.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
            })
            .Build();
        await Assert.ThrowsAnyAsync<Exception>(() => skipping.StartAsync());

        var sockets = new List<ClientWebSocket>();
        for (var i = 0; i < 5; i++)
        {
            sockets.Add(await ConnectAsync(channel.Id, channel.Tokens[0].Secret!));
        }

        await using var sixth = new HubConnectionBuilder()
            .WithUrl(new Uri(_service.BaseAddress, $"/ecls/hub?areaId={_area}&channelId={channel.Id}&key={channel.Tokens[0].Secret}"))
            .Build();
        var full = await Assert.ThrowsAsync<HttpRequestException>(() => sixth.StartAsync());
        Assert.Equal(HttpStatusCode.TooManyRequests, full.StatusCode);
        foreach (var socket in sockets)
        {
            socket.Abort();
            socket.Dispose();
        }
    }

    [Fact]
    public async Task A_signalr_client_gets_the_records_too()
    {
        var channel = await CreateChannelAsync();
        var frames = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(_service.BaseAddress, $"/ecls/hub?areaId={_area}&channelId={channel.Id}&key={channel.Tokens[0].Secret}"))
            .Build();
        hub.On<string>("records", frames.Enqueue);
        await hub.StartAsync();

        var record = Record();
        await Eventually.Until(async () =>
        {
            await PublishAsync(_area, record);
            await Task.Delay(100);
            return frames.Any(f => f.Contains(record.RequestUuid, StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_sixth_connection_is_refused_and_a_place_frees_when_one_closes_or_its_lease_lapses()
    {
        var channel = await CreateChannelAsync();
        var key = channel.Tokens[0].Secret!;
        var sockets = new List<ClientWebSocket>();
        for (var i = 0; i < 5; i++)
        {
            sockets.Add(await ConnectAsync(channel.Id, key));
        }

        using var sixth = new ClientWebSocket();
        var refused = await Assert.ThrowsAnyAsync<WebSocketException>(() => sixth.ConnectAsync(SubscribeUri(_area, channel.Id, key), CancellationToken.None));

        await sockets[0].CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        ClientWebSocket? again = null;
        await Eventually.Until(async () =>
        {
            try
            {
                again = await ConnectAsync(channel.Id, key);
                return true;
            }
            catch (WebSocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), "a place frees when a connection closes");

        // A client that dies without closing: its place comes back once the server notices, or its lease lapses.
        sockets[1].Abort();
        await Eventually.Until(async () =>
        {
            try
            {
                sockets.Add(await ConnectAsync(channel.Id, key));
                return true;
            }
            catch (WebSocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "a place frees when a connection dies");

        using var operatorClient = _service.CreateClient(infra.Tokens.Issue(Roles.Operator, null, "operator"));
        var status = await operatorClient.GetFromJsonAsync<List<OperationsApi.ChannelStatus>>("/api/ops/channels", Json);
        Assert.Equal(5, status!.Single(c => c.ChannelId == channel.Id).LiveConnections);
        Assert.Equal(HttpStatusCode.Forbidden, (await _admin.GetAsync("/api/ops/channels")).StatusCode);

        foreach (var socket in sockets.Append(again!))
        {
            socket.Abort();
            socket.Dispose();
        }
    }

    [Fact]
    public async Task Disabling_the_token_closes_live_connections_with_a_reason_and_refuses_new_ones()
    {
        var channel = await CreateChannelAsync();
        var token = channel.Tokens[0];
        using var socket = await ConnectAsync(channel.Id, token.Secret!);
        // A receive that times out aborts a client WebSocket, so wait long enough for the record on a loaded machine.
        await Eventually.Until(async () =>
        {
            await PublishAsync(_area, Record());
            return await ReceiveTextAsync(socket, TimeSpan.FromSeconds(10)) is not null;
        });

        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens/{token.Id}/disable", null)).StatusCode);

        await Eventually.Until(async () => await ReceiveTextAsync(socket, TimeSpan.FromSeconds(1)) is null && socket.State != WebSocketState.Open,
            TimeSpan.FromSeconds(10), "the connection is closed");
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Contains("disabled", socket.CloseStatusDescription);
        await Assert.ThrowsAnyAsync<WebSocketException>(() => ConnectAsync(channel.Id, token.Secret!));
    }

    [Fact]
    public async Task After_a_token_rotation_the_new_tokens_subscribers_get_every_place_the_old_ones_had()
    {
        var channel = await CreateChannelAsync();
        var old = channel.Tokens[0];
        var sockets = new List<ClientWebSocket>();
        for (var i = 0; i < 5; i++)
        {
            sockets.Add(await ConnectAsync(channel.Id, old.Secret!));
        }

        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens/{old.Id}/disable", null)).StatusCode);
        using var created = await _admin.PostAsync($"/api/areas/{_area}/stream-channel/tokens", null);
        var key = (await created.Content.ReadFromJsonAsync<ChannelsApi.TokenResponse>(Json))!.Secret!;

        // The server closes the old subscribers (which do not answer the close here) and frees their places.
        var fresh = new List<ClientWebSocket>();
        await Eventually.Until(async () =>
        {
            try
            {
                fresh.Add(await ConnectAsync(channel.Id, key));
                return fresh.Count == 5;
            }
            catch (WebSocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), "five subscribers with the new token");

        foreach (var socket in sockets.Concat(fresh))
        {
            socket.Abort();
            socket.Dispose();
        }
    }

    [Fact]
    public async Task A_blocked_slow_client_does_not_delay_a_fast_one_and_is_told_how_many_records_it_missed()
    {
        var channel = await CreateChannelAsync();
        var key = channel.Tokens[0].Secret!;
        using var slow = await ConnectAsync(channel.Id, key);
        using var fast = await ConnectAsync(channel.Id, key);
        await Eventually.Until(async () =>
        {
            await PublishAsync(_area, Record());
            return await ReceiveTextAsync(fast, TimeSpan.FromMilliseconds(500)) is not null;
        });

        // The slow client reads nothing while 50 batches of 100 records (with 2 KB values, 10 MB in all) go out: more
        // than its buffer holds, less than the gap that closes a subscriber; the fast one reads all along.
        const int Total = 50 * 100;
        var reading = ReceiveUuidsAsync(fast, Total, TimeSpan.FromSeconds(90));
        var sent = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            var batch = Enumerable.Range(0, 100).Select(_ => Record(new string('k', 2048))).ToArray();
            sent.AddRange(batch.Select(r => r.RequestUuid));
            await PublishAsync(_area, batch);
            await Task.Delay(25); // a steady flow, not one burst: the fast client keeps up with it
        }

        var received = await reading;
        Assert.True(sent.Count == received.Intersect(sent).Count(), $"fast: {received.Intersect(sent).Count()} of {sent.Count}, {fast.State} {fast.CloseStatusDescription}");

        var frames = new List<string>();
        string? frame;
        while ((frame = await ReceiveTextAsync(slow, TimeSpan.FromSeconds(2))) is not null)
        {
            frames.Add(frame);
        }

        var parsed = frames.Select(f => JsonDocument.Parse(f).RootElement).ToList();
        var missed = parsed.Where(f => f.TryGetProperty("missed", out _)).SelectMany(f => f.GetProperty("request_uuids").EnumerateArray().Select(u => u.GetString()!)).ToList();
        var got = parsed.Where(f => f.TryGetProperty("data", out _)).SelectMany(f => f.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("request_uuid").GetString()!)).ToList();
        Assert.NotEmpty(missed);
        Assert.Equal(parsed.Where(f => f.TryGetProperty("missed", out _)).Sum(f => f.GetProperty("missed").GetInt32()), missed.Count);
        // Every record sent is either delivered or named as missed, exactly once.
        var accounted = got.Concat(missed).Where(sent.Contains).ToList();
        Assert.Equal(sent.Order(), accounted.Order());
    }
}
