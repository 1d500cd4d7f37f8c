using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Profile.Apis;
using CallLogs.Profile.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;

namespace CallLogs.Profile.Tests;

[Collection(InfrastructureCollection.Name)]
public sealed class OutboxDeliveryTests(Infrastructure infra)
{
    [Fact]
    public async Task A_profile_saved_while_rabbitmq_is_unreachable_has_its_event_delivered_after_it_is_back()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        await using var broker = await TcpProxy.StartAsync(new Uri(vhost));
        var throughProxy = new UriBuilder(vhost) { Port = broker.Port }.Uri.ToString();
        await using var service = await ServiceFactory<ProfileDbContext>.StartAsync(infra, "profile", new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = throughProxy,
            ["Outbox:PublishTimeout"] = "00:00:02",
        });
        await using var events = await EventCollector.StartAsync(vhost);
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        using var platform = service.CreateClient(infra.Tokens.Issue(Roles.PlatformAdmin, null, "root"));
        var area = (await (await platform.PostAsJsonAsync("/api/areas", new { name = $"Area {Guid.NewGuid():N}" })).Content
            .ReadFromJsonAsync<AreaResponse>(json))!.Id;
        await events.WaitFor<AreaCreated>(e => e.AreaId == area);

        broker.Pause();
        using var admin = service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "admin"));
        using var created = await admin.PostAsJsonAsync($"/api/areas/{area}/export-profiles", new
        {
            name = "Saved while the broker is down",
            s3Bucket = "bucket-name",
            collectFrom = DateTimeOffset.UtcNow.AddHours(2),
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var profile = (await created.Content.ReadFromJsonAsync<ExportProfileResponse>(json))!;
        Assert.Empty(events.Received<ExportProfileCreated>());

        broker.Resume();

        var delivered = await events.WaitFor<ExportProfileCreated>(e => e.Profile.ProfileId == profile.Id, TimeSpan.FromSeconds(120));
        Assert.Equal("Saved while the broker is down", delivered.Profile.Name);
        // A later event passes through the same relay in order: once it arrived, a repeat of the first would have too.
        using var renamed = await platform.PutAsJsonAsync($"/api/areas/{area}", new { name = $"Renamed {Guid.NewGuid():N}" });
        await events.WaitFor<AreaRenamed>(e => e.AreaId == area);
        Assert.Single(events.Received<ExportProfileCreated>(), e => e.Profile.ProfileId == profile.Id);
    }
}
