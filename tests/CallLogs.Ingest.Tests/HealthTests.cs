using System.Net;
using System.Text.Json;
using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using Npgsql;

namespace CallLogs.Ingest.Tests;

[Collection(InfrastructureCollection.Name)]
public sealed class HealthTests(Infrastructure infra)
{
    [Fact]
    public async Task Health_is_not_ready_while_the_broker_is_unreachable_and_ready_again_once_it_is_back()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        await using var broker = await TcpProxy.StartAsync(new Uri(vhost));
        await using var service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = new UriBuilder(vhost) { Port = broker.Port }.Uri.ToString(),
        });
        using var anonymous = service.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);

        broker.Pause();
        var down = await Eventually.Get(() => anonymous.GetAsync("/health"), r => r.StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(30), "health reports the broker outage");
        var text = await down.Content.ReadAsStringAsync();
        AssertNoInternals(text);

        broker.Resume();
        await Eventually.Until(async () => (await anonymous.GetAsync("/health")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(90),
            "health is ready again once the broker is back");
    }

    [Fact]
    public async Task Health_is_not_ready_while_the_database_is_unreachable_and_only_operators_see_the_reason()
    {
        var database = new NpgsqlConnectionStringBuilder(await infra.NewDatabaseAsync());
        await using var postgres = await TcpProxy.StartAsync(database.Host!, database.Port);
        await using var service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?>
        {
            ["ConnectionStrings:ingestdb"] = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = postgres.Port, Timeout = 3 }.ConnectionString,
        });
        using var anonymous = service.CreateClient();
        using var viewer = service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, Guid.NewGuid(), "viewer"));
        using var operatorClient = service.CreateClient(infra.Tokens.Issue(Roles.Operator, null, "operator"));

        postgres.Pause();
        var down = await Eventually.Get(() => anonymous.GetAsync("/health"), r => r.StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(30), "health reports the database outage");
        AssertNoInternals(await down.Content.ReadAsStringAsync());
        AssertNoInternals(await (await viewer.GetAsync("/health")).Content.ReadAsStringAsync());
        var detailed = JsonDocument.Parse(await (await operatorClient.GetAsync("/health")).Content.ReadAsStringAsync()).RootElement;
        Assert.Contains(detailed.GetProperty("checks").EnumerateObject(), c => c.Value.TryGetProperty("description", out _));
        postgres.Resume();
    }

    private static void AssertNoInternals(string health)
    {
        var json = JsonDocument.Parse(health).RootElement;
        Assert.Equal("Unhealthy", json.GetProperty("status").GetString());
        Assert.All(json.GetProperty("checks").EnumerateObject(), c => Assert.False(c.Value.TryGetProperty("description", out _), health));
        Assert.DoesNotContain("Exception", health);
        Assert.DoesNotContain("127.0.0.1", health);
    }
}
