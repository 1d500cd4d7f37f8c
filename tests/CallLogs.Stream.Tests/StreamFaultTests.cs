using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Data.Common;
using System.Text.Json;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Stream.Apis;
using CallLogs.Stream.Data;
using CallLogs.Stream.Subscriptions;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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
    public async Task A_subscriber_admitted_while_the_heartbeat_checks_the_tokens_of_the_others_is_not_closed_as_disabled()
    {
        var tokenCheck = new OnTokenCheck();
        await using var service = await ServiceFactory<StreamDbContext>.StartAsync(infra, "stream", new Dictionary<string, string?>
        {
            ["Stream:HeartbeatInterval"] = "00:01:00", // the beat below is the test's own
            ["Stream:LeaseTimeToLive"] = "00:05:00",
        }, services => services.ConfigureDbContext<StreamDbContext>(o => o.AddInterceptors(tokenCheck)), kestrel: true);
        var (first, second) = (Guid.NewGuid(), Guid.NewGuid());
        using var firstAdmin = service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, first, "admin"));
        using var secondAdmin = service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, second, "admin"));
        var firstChannel = await CreateChannelAsync(firstAdmin, first);
        var secondChannel = await CreateChannelAsync(secondAdmin, second);
        using var early = await TryConnectAsync(service.BaseAddress, first, firstChannel);
        Assert.NotNull(early);
        var registry = service.Services.GetRequiredService<SubscriberRegistry>();
        await Eventually.Until(() => registry.All.Count == 1, TimeSpan.FromSeconds(10), "the first subscriber is registered");

        // The heartbeat has taken its list of subscriptions and asks which of their tokens are enabled: another one joins now.
        ClientWebSocket? late = null;
        tokenCheck.Once = async () => late = await TryConnectAsync(service.BaseAddress, second, secondChannel);
        await service.Services.GetServices<IHostedService>().OfType<LeaseHeartbeat>().Single().RunOnceAsync(CancellationToken.None);

        Assert.NotNull(late);
        Assert.Equal(2, registry.All.Count);
        Assert.All(registry.All, s => Assert.False(s.Closed.IsCancellationRequested));
        late.Dispose();
    }

    /// <summary>Runs what <see cref="Once"/> is given when the heartbeat's query of enabled tokens is about to run, once.</summary>
    private sealed class OnTokenCheck : DbCommandInterceptor
    {
        private Func<Task>? _once;

        public Func<Task> Once { set => _once = value; }

        public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.Contains("access_tokens", StringComparison.Ordinal) && command.CommandText.Contains("JOIN", StringComparison.Ordinal)
                && Interlocked.Exchange(ref _once, null) is { } once)
            {
                await once();
            }

            return result;
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
