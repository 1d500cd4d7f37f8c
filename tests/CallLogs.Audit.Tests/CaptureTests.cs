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

        // The capture writes to the outbox before the response completes: the bulk call, if recorded, would be there now.
        await using (var scope = sample.Services.CreateAsyncScope())
        {
            var outbox = await scope.ServiceProvider.GetRequiredService<AuditDbContext>().Set<OutboxMessage>().AsNoTracking().ToListAsync();
            Assert.Equal(6, outbox.Count(m => m.MessageType == typeof(AuditEventRecorded).FullName));
            Assert.DoesNotContain(outbox, m => m.Body.Contains("Bulk", StringComparison.OrdinalIgnoreCase));
        }

        var lookup = audit.CreateClient(token);
        var events = await AuditFixture.WaitForEventsAsync(lookup, $"/api/areas/{area}/audit/events?eventSource=sample", 6);
        Assert.Equal(6, events.Count);
        Assert.Equal(["DeleteWidget", "GetWidget", "DeleteWidget", "DeleteWidget", "GetWidget", "CreateWidget"],
            events.Select(e => e!["eventName"]!.GetValue<string>()));
        var (forbidden, anonymous, notFound, deleted, read, create) = (events[0]!, events[1]!, events[2]!, events[3]!, events[4]!, events[5]!);

        Assert.Equal(201, create["httpStatusCode"]!.GetValue<int>());
        Assert.False(create["readOnly"]!.GetValue<bool>());
        Assert.Equal(widgetId, create["responseElements"]!["id"]!.GetValue<string>());
        Assert.Equal(AuditRedaction.Marker, create["responseElements"]!["apiToken"]!.GetValue<string>());
        Assert.Equal("w1", create["requestParameters"]!["body"]!["name"]!.GetValue<string>());
        Assert.Equal(area.ToString(), create["requestParameters"]!["areaId"]!.GetValue<string>());
        Assert.Contains(create["resources"]!.AsArray(), r => r!["type"]!.GetValue<string>() == "widget" && r["name"]!.GetValue<string>() == widgetId);
        Assert.Contains(create["resources"]!.AsArray(), r => r!["type"]!.GetValue<string>() == "area" && r["name"]!.GetValue<string>() == area.ToString());
        Assert.Equal("AreaAdmin", create["userIdentity"]!["type"]!.GetValue<string>());
        Assert.Equal("alice", create["userIdentity"]!["userName"]!.GetValue<string>());
        Assert.Equal("alice-id", create["userIdentity"]!["principalId"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(create["userIdentity"]!["accessKeyId"]!.GetValue<string>()));
        Assert.StartsWith("widget-cli/1.0 xxx", create["userAgent"]!.GetValue<string>());
        Assert.Equal(1024, create["userAgent"]!.GetValue<string>().Length);
        Assert.Equal(area.ToString(), create["recipientAreaId"]!.GetValue<string>());
        Assert.Equal("sample", create["eventSource"]!.GetValue<string>());
        Assert.Equal("ApiCall", create["eventType"]!.GetValue<string>());
        Assert.True(Guid.TryParse(create["eventID"]!.GetValue<string>(), out _));
        Assert.False(string.IsNullOrEmpty(create["requestID"]!.GetValue<string>()));
        Assert.Null(create["errorCode"]);

        Assert.True(read["readOnly"]!.GetValue<bool>());
        Assert.Null(read["responseElements"]);
        Assert.Equal(widgetId, read["requestParameters"]!["widgetId"]!.GetValue<string>());
        Assert.Null(read["errorCode"]);

        Assert.Equal(204, deleted["httpStatusCode"]!.GetValue<int>());
        Assert.Null(deleted["responseElements"]);
        Assert.False(deleted["readOnly"]!.GetValue<bool>());

        Assert.Equal("NotFound", notFound["errorCode"]!.GetValue<string>());
        Assert.Contains($"No widget {widgetId}", notFound["errorMessage"]!.GetValue<string>());
        Assert.Null(notFound["responseElements"]);

        Assert.Equal("Unauthenticated", anonymous["errorCode"]!.GetValue<string>());
        Assert.Equal("Anonymous", anonymous["userIdentity"]!["type"]!.GetValue<string>());
        Assert.Equal(401, anonymous["httpStatusCode"]!.GetValue<int>());

        Assert.Equal("AccessDenied", forbidden["errorCode"]!.GetValue<string>());
        Assert.Equal("victor", forbidden["userIdentity"]!["userName"]!.GetValue<string>());
        Assert.Contains("area-admin", forbidden["errorMessage"]!.GetValue<string>());
    }

    [Fact]
    public async Task Secrets_never_appear_in_the_lookup_or_in_the_delivered_files()
    {
        var area = Guid.NewGuid();
        var bucket = await infra.NewBucketAsync();
        await using var audit = await AuditFixture.StartAuditAsync(infra, bucket);
        await using var sample = await SampleService.StartAsync(infra, audit.Configuration["ConnectionStrings:messaging"]!);
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");
        var admin = sample.CreateClient(token);

        using var created = await AuditFixture.CreateWidgetAsync(admin, area, new { name = "w2", clientSecret = "cs-SECRET-1", password = "pw-SECRET-2" });
        var widget = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var apiToken = widget["apiToken"]!.GetValue<string>();
        var widgetId = widget["id"]!.GetValue<string>();
        using var invalid = await admin.PostAsync($"/api/areas/{area}/widgets",
            new StringContent("""{"name": 5, "password": "pw-SECRET-3"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        await admin.GetAsync($"/api/areas/{area}/widgets/{widgetId}?key=q-SECRET-4&api_token={token}");

        var lookup = audit.CreateClient(token);
        var events = await AuditFixture.WaitForEventsAsync(lookup, $"/api/areas/{area}/audit/events?eventSource=sample", 3);
        await audit.Writer().DeliverAsync(CancellationToken.None);
        var files = await AuditFixture.ReadObjectsAsync(infra.CreateS3Client(), bucket);

        Assert.NotEmpty(files);
        Assert.Contains(widgetId, string.Join("\n", files.Values));
        var everything = events.ToJsonString() + string.Join("\n", files.Values);
        Assert.Contains(widgetId, everything);
        Assert.Contains("ValidationError", everything);
        foreach (var secret in new[] { "cs-SECRET-1", "pw-SECRET-2", "pw-SECRET-3", "q-SECRET-4", apiToken, token })
        {
            Assert.DoesNotContain(secret, everything);
        }

        Assert.Contains(AuditRedaction.Marker, everything);
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
