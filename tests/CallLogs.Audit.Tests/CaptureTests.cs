using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CallLogs.Audit.Data;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.Audit.Tests;

/// <summary>
/// The capture in ServiceDefaults, seen through a service whose endpoints know nothing of auditing. Note for the lead:
/// the same test against the profile service (create, read, delete an export profile) belongs in the profile tests once
/// both branches are merged; it needs only the profile endpoints' names.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class CaptureTests(Infrastructure infra)
{
    [Fact]
    public async Task Creating_reading_and_deleting_a_resource_gives_the_right_events()
    {
        var area = Guid.NewGuid();
        await using var audit = await AuditFixture.StartAuditAsync(infra, await infra.NewBucketAsync());
        await using var sample = await SampleService.StartAsync(infra, audit.Configuration["ConnectionStrings:messaging"]!);
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");
        var admin = sample.CreateClient(token);
        admin.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", "widget-cli/1.0 " + new string('x', 3000));

        using var created = await AuditFixture.CreateWidgetAsync(admin, area, new { name = "w1" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var widgetId = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/areas/{area}/widgets/{widgetId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/areas/{area}/widgets/{widgetId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/areas/{area}/widgets/{widgetId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await sample.CreateClient(null).GetAsync($"/api/areas/{area}/widgets/{widgetId}")).StatusCode);
        var viewer = sample.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, area, "victor-id", "victor"));
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.DeleteAsync($"/api/areas/{area}/widgets/{widgetId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/areas/{area}/widgets/bulk", new[] { new { name = "b" } })).StatusCode);

        // The capture writes to the outbox before the response leaves: the bulk call, if recorded, would be there now.
        await using (var scope = sample.Services.CreateAsyncScope())
        {
            var outbox = await scope.ServiceProvider.GetRequiredService<AuditDbContext>().Set<OutboxMessage>().AsNoTracking().ToListAsync();
            Assert.Equal(6, outbox.Count(m => m.MessageType == typeof(AuditEventRecorded).FullName));
            Assert.DoesNotContain(outbox, m => m.Body.Contains("Bulk", StringComparison.OrdinalIgnoreCase));
        }

        var lookup = audit.CreateClient(token);
        var events = await AuditFixture.WaitForEventsAsync(lookup, $"/api/areas/{area}/audit/events?eventSource=sample", 5);
        Assert.Equal(5, events.Count);
        Assert.Equal(["DeleteWidget", "DeleteWidget", "DeleteWidget", "GetWidget", "CreateWidget"],
            events.Select(e => e!["eventName"]!.GetValue<string>()));
        var (forbidden, notFound, deleted, read, create) = (events[0]!, events[1]!, events[2]!, events[3]!, events[4]!);
        // The call without a token is not in the area's trail: it is in the platform's.
        var platform = audit.CreateClient(infra.Tokens.Issue(Roles.PlatformAdmin, null, "root-id", "root"));
        var anonymous = (await AuditFixture.WaitForEventsAsync(platform, "/api/audit/events?eventSource=sample&eventName=GetWidget&readOnly=true", 2))
            .Single(e => e!["errorCode"]?.GetValue<string>() == "Unauthenticated")!;

        Assert.Equal(201, create["additionalEventData"]!["httpStatusCode"]!.GetValue<int>());
        Assert.False(create["readOnly"]!.GetValue<bool>());
        Assert.Equal(widgetId, create["responseElements"]!["id"]!.GetValue<string>());
        Assert.Equal(AuditRedaction.Marker, create["responseElements"]!["apiToken"]!.GetValue<string>());
        Assert.Equal("w1", create["requestParameters"]!["body"]!["name"]!.GetValue<string>());
        Assert.Equal(area.ToString(), create["requestParameters"]!["areaId"]!.GetValue<string>());
        Assert.Contains(create["resources"]!.AsArray(), r => r!["type"]!.GetValue<string>() == "CallLogs::Sample::Widget"
            && r["ARN"]!.GetValue<string>() == $"arn:calllogs:sample:local:{area}:widget/{widgetId}" && r["accountId"]!.GetValue<string>() == area.ToString());
        Assert.Contains(create["resources"]!.AsArray(), r => r!["type"]!.GetValue<string>() == "CallLogs::Profile::Area"
            && r["ARN"]!.GetValue<string>() == $"arn:calllogs:profile:local:{area}:area/{area}");
        Assert.Equal("AssumedRole", create["userIdentity"]!["type"]!.GetValue<string>());
        Assert.Equal($"arn:calllogs:sts::{area}:assumed-role/AreaAdmin/alice", create["userIdentity"]!["arn"]!.GetValue<string>());
        Assert.Equal(area.ToString(), create["userIdentity"]!["accountId"]!.GetValue<string>());
        Assert.Equal("AreaAdmin", create["userIdentity"]!["sessionContext"]!["sessionIssuer"]!["userName"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", create["userIdentity"]!["sessionContext"]!["attributes"]!["creationDate"]!.GetValue<string>());
        Assert.Equal("alice", create["userIdentity"]!["userName"]!.GetValue<string>());
        Assert.Equal("alice-id", create["userIdentity"]!["principalId"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(create["userIdentity"]!["accessKeyId"]!.GetValue<string>()));
        Assert.StartsWith("widget-cli/1.0 xxx", create["userAgent"]!.GetValue<string>());
        Assert.Equal(1024, create["userAgent"]!.GetValue<string>().Length);
        Assert.Equal(area.ToString(), create["recipientAccountId"]!.GetValue<string>());
        Assert.Equal("local", create["awsRegion"]!.GetValue<string>());
        Assert.Equal("sample", create["eventSource"]!.GetValue<string>());
        Assert.Equal("AwsApiCall", create["eventType"]!.GetValue<string>());
        Assert.Equal("Management", create["eventCategory"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", create["eventTime"]!.GetValue<string>());
        Assert.True(Guid.TryParse(create["eventID"]!.GetValue<string>(), out _));
        Assert.False(string.IsNullOrEmpty(create["requestID"]!.GetValue<string>()));
        Assert.Null(create["errorCode"]);

        Assert.True(read["readOnly"]!.GetValue<bool>());
        Assert.Null(read["responseElements"]);
        Assert.Equal(widgetId, read["requestParameters"]!["widgetId"]!.GetValue<string>());
        Assert.Null(read["errorCode"]);

        Assert.Equal(204, deleted["additionalEventData"]!["httpStatusCode"]!.GetValue<int>());
        Assert.Null(deleted["responseElements"]);
        Assert.False(deleted["readOnly"]!.GetValue<bool>());

        Assert.Equal("NotFound", notFound["errorCode"]!.GetValue<string>());
        Assert.Contains($"No widget {widgetId}", notFound["errorMessage"]!.GetValue<string>());
        Assert.Null(notFound["responseElements"]);

        Assert.Equal("Unknown", anonymous["userIdentity"]!["type"]!.GetValue<string>());
        Assert.Equal("anonymous", anonymous["userIdentity"]!["accountId"]!.GetValue<string>());
        Assert.Equal(401, anonymous["additionalEventData"]!["httpStatusCode"]!.GetValue<int>());
        Assert.Equal("Unauthenticated", anonymous["additionalEventData"]!["untrusted"]!.GetValue<string>());
        Assert.Equal(area.ToString(), anonymous["additionalEventData"]!["requestedAreaId"]!.GetValue<string>());
        Assert.Equal("platform", anonymous["recipientAccountId"]!.GetValue<string>());

        Assert.Equal("AccessDenied", forbidden["errorCode"]!.GetValue<string>());
        Assert.Equal("victor", forbidden["userIdentity"]!["userName"]!.GetValue<string>());
        Assert.Contains("area-admin", forbidden["errorMessage"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_audit_service_records_its_own_lookups()
    {
        var area = Guid.NewGuid();
        await using var audit = await AuditFixture.StartAuditAsync(infra, await infra.NewBucketAsync());
        var lookup = audit.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice"));

        await AuditFixture.LookupAsync(lookup, $"/api/areas/{area}/audit/events?eventName=SomethingElse&maxResults=5");
        // The polling lookups are recorded too, and may be stored before the first one: wait for that one itself.
        static bool IsFirst(System.Text.Json.Nodes.JsonNode? e) => e?["requestParameters"]?["eventName"]?.GetValue<string>() == "SomethingElse";
        var events = await Eventually.Get(
            () => AuditFixture.LookupAsync(lookup, $"/api/areas/{area}/audit/events?eventName=LookupAuditEvents&eventSource=audit&maxResults=50"),
            found => found.Any(IsFirst), TimeSpan.FromSeconds(60));

        var first = events.First(IsFirst)!;
        Assert.True(first["readOnly"]!.GetValue<bool>());
        Assert.Null(first["responseElements"]);
        Assert.Equal("SomethingElse", first["requestParameters"]!["eventName"]!.GetValue<string>());
        Assert.Equal("5", first["requestParameters"]!["maxResults"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_event_raised_while_the_audit_service_is_stopped_arrives_after_it_starts()
    {
        var area = Guid.NewGuid();
        var messaging = await infra.NewRabbitMqVirtualHostAsync();
        var database = await infra.NewDatabaseAsync();
        var bucket = await infra.NewBucketAsync();
        await using (await AuditFixture.StartAuditAsync(infra, bucket, messaging, database))
        {
            // First start declares the audit queue; then the service stops.
        }

        await using var sample = await SampleService.StartAsync(infra, messaging);
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");
        using var created = await AuditFixture.CreateWidgetAsync(sample.CreateClient(token), area, new { name = "while-down" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await Eventually.Until(async () =>
        {
            await using var scope = sample.Services.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<AuditDbContext>().Set<OutboxMessage>().AnyAsync(m => m.PublishedAt != null);
        }, TimeSpan.FromSeconds(30), "the sample service published the event to RabbitMQ");

        await using var audit = await AuditFixture.StartAuditAsync(infra, bucket, messaging, database);
        var events = await AuditFixture.WaitForEventsAsync(audit.CreateClient(token), $"/api/areas/{area}/audit/events?eventName=CreateWidget", 1);
        Assert.Equal("while-down", events[0]!["requestParameters"]!["body"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_event_raised_while_RabbitMQ_is_unreachable_stays_in_the_outbox_and_arrives_when_it_is_back()
    {
        var area = Guid.NewGuid();
        await using var audit = await AuditFixture.StartAuditAsync(infra, await infra.NewBucketAsync());
        var messaging = new Uri(audit.Configuration["ConnectionStrings:messaging"]!);
        await using var proxy = await TcpProxy.StartAsync(messaging);
        var throughProxy = new UriBuilder(messaging) { Port = proxy.Port }.Uri.ToString();
        await using var sample = await SampleService.StartAsync(infra, throughProxy);
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");

        proxy.Pause();
        using var created = await AuditFixture.CreateWidgetAsync(sample.CreateClient(token), area, new { name = "broker-down" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await using (var scope = sample.Services.CreateAsyncScope())
        {
            var pending = await scope.ServiceProvider.GetRequiredService<AuditDbContext>().Set<OutboxMessage>().AsNoTracking().ToListAsync();
            Assert.Contains(pending, m => m.Body.Contains("broker-down", StringComparison.Ordinal));
        }

        proxy.Resume();
        var events = await AuditFixture.WaitForEventsAsync(audit.CreateClient(token), $"/api/areas/{area}/audit/events?eventName=CreateWidget", 1);
        Assert.Equal("broker-down", events[0]!["requestParameters"]!["body"]!["name"]!.GetValue<string>());
    }
}
