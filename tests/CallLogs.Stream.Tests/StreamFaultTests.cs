using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Stream.Apis;
using CallLogs.Stream.Data;
using CallLogs.Testing;
using Npgsql;

namespace CallLogs.Stream.Tests;

/// <summary>Subscribers that hang and a database that goes away: places are freed, and never more than the limit are held.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class StreamFaultTests(Infrastructure infra)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static async Task<ChannelsApi.ChannelResponse> CreateChannelAsync(HttpClient admin, Guid area)
    {
        using var response = await admin.PostAsync($"/api/areas/{area}/stream-channel", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ChannelsApi.ChannelResponse>(Json))!;
    }

    private static async Task<ClientWebSocket?> TryConnectAsync(Uri service, Guid area, ChannelsApi.ChannelResponse channel)
    {
        // A client that never reads: it never answers the server's pings either, as a frozen process would.
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        try
        {
            await socket.ConnectAsync(new Uri($"ws://{service.Authority}/ecls/subscribe/{area}/{channel.Id}?key={channel.Tokens[0].Secret}"), CancellationToken.None);
            return socket;
        }
        catch (WebSocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    [Fact]
    public async Task Hung_subscribers_that_never_answer_pings_lose_their_places()
    {
        await using var service = await ServiceFactory<StreamDbContext>.StartAsync(infra, "stream", new Dictionary<string, string?>
        {
            ["Stream:HeartbeatInterval"] = "00:00:00.500",
            ["Stream:KeepAliveInterval"] = "00:00:01",
            ["Stream:KeepAliveTimeout"] = "00:00:01",
        }, kestrel: true);
        var area = Guid.NewGuid();
        using var admin = service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "admin"));
        var channel = await CreateChannelAsync(admin, area);
        var hung = new List<ClientWebSocket>();
        for (var i = 0; i < 5; i++)
        {
            hung.Add((await TryConnectAsync(service.BaseAddress, area, channel))!);
        }

        // The hung clients' TCP connections stay open; only the missing pong tells the server they are gone.
        var fresh = await Eventually.Get(() => TryConnectAsync(service.BaseAddress, area, channel), s => s is not null, TimeSpan.FromSeconds(30),
            "a place frees once a hung subscriber misses its pong");
        fresh!.Abort();
        foreach (var socket in hung)
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task After_a_database_outage_longer_than_a_lease_the_subscriptions_whose_places_may_be_taken_are_closed()
    {
        var database = new NpgsqlConnectionStringBuilder(await infra.NewDatabaseAsync());
        await using var postgres = await TcpProxy.StartAsync(database.Host!, database.Port);
        await using var service = await ServiceFactory<StreamDbContext>.StartAsync(infra, "stream", new Dictionary<string, string?>
        {
            ["ConnectionStrings:streamdb"] = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = postgres.Port, Timeout = 2 }.ConnectionString,
            ["Stream:HeartbeatInterval"] = "00:00:00.500",
            ["Stream:LeaseTimeToLive"] = "00:00:03",
        }, kestrel: true);
        var area = Guid.NewGuid();
        using var admin = service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "admin"));
        var channel = await CreateChannelAsync(admin, area);
        using var socket = (await TryConnectAsync(service.BaseAddress, area, channel))!;

        postgres.Pause();
        var buffer = new byte[4096];
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, wait.Token);
        }
        while (result.MessageType != WebSocketMessageType.Close);
        Assert.Contains("database", socket.CloseStatusDescription);

        postgres.Resume();
        using var again = await Eventually.Get(() => TryConnectAsync(service.BaseAddress, area, channel), s => s is not null, TimeSpan.FromSeconds(30),
            "subscribing works again once the database is back");
    }
}
