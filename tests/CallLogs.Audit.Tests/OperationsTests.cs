using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallLogs.Audit.Apis;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;

namespace CallLogs.Audit.Tests;

[Collection(InfrastructureCollection.Name)]
public sealed class OperationsTests(Infrastructure infra)
{
    [Fact]
    public async Task Operators_see_per_area_events_waiting_for_delivery_and_the_last_file_and_digest()
    {
        var area = Guid.NewGuid();
        await using var audit = await AuditFixture.StartAuditAsync(infra, await infra.NewBucketAsync());
        using var admin = audit.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice"));
        await AuditFixture.LookupAsync(admin, $"/api/areas/{area}/audit/events");
        using var operatorClient = audit.CreateClient(infra.Tokens.Issue(Roles.Operator, null, "operator"));
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);

        var waiting = await Eventually.Get(
            () => operatorClient.GetFromJsonAsync<List<AuditOperationsApi.AreaDeliveryStatus>>("/api/ops/delivery", json),
            list => list!.Any(a => a.EventsWaiting > 0), TimeSpan.FromSeconds(60));
        Assert.Contains(waiting!, a => a.EventsWaiting > 0 && a.DeliveryDelaySeconds >= 0 && a.OldestWaitingEvent is not null);

        await audit.Writer().DeliverAsync(CancellationToken.None);
        await audit.Writer().WriteDigestsAsync(DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None);
        var delivered = await operatorClient.GetFromJsonAsync<List<AuditOperationsApi.AreaDeliveryStatus>>("/api/ops/delivery", json);
        Assert.Contains(delivered!, a => a.Area == area.ToString() && a.LastFileUploadedAt is not null && a.LastDigestKey is not null);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.GetAsync("/api/ops/delivery")).StatusCode);
    }
}
