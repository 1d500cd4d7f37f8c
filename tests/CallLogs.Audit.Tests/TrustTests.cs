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
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CallLogs.Audit.Tests;

/// <summary>
/// Who may write into a trail, and what is not a management call: only an authenticated caller's calls reach an area's
/// trail; calls without a valid token or into another area go to the platform trail, without their bodies and bounded
/// per source, and never make up an area; monitoring reads are not recorded.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class TrustTests(Infrastructure infra)
{
    [Fact]
    public async Task Calls_without_a_valid_token_or_into_another_area_go_to_the_platform_trail_bounded_and_never_create_an_area()
    {
        var victim = Guid.NewGuid();
        var attacker = Guid.NewGuid();
        var bucket = await infra.NewBucketAsync();
        await using var audit = await AuditFixture.StartAuditAsync(infra, bucket);
        // The limiter's minute does not pass during the test, however slow the machine.
        await using var sample = await SampleService.StartAsync(infra, audit.Configuration["ConnectionStrings:messaging"]!,
            settings: new Dictionary<string, string?> { ["Audit:UntrustedEventsPerSourcePerMinute"] = "5" },
            services: s => s.AddSingleton(sp => new UntrustedCallLimiter(sp.GetRequiredService<IOptions<AuditCaptureOptions>>(), new FakeTimeProvider(DateTimeOffset.UtcNow))));
        var widgets = $"/api/areas/{victim}/widgets";
        var anonymous = sample.CreateClient(null);
        var forged = sample.CreateClient(new TokenIssuer(TokenIssuer.NewSigningKey()).Issue(Roles.AreaAdmin, victim, "mallory-id", "mallory"));

        using (var crossArea = await sample.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, attacker, "eve-id", "eve"))
                   .PostAsJsonAsync(widgets, new { name = "cross-area", password = "pw-cross-area" }))
        {
            Assert.Equal(HttpStatusCode.NotFound, crossArea.StatusCode);
        }

        using (var noToken = await anonymous.PostAsJsonAsync(widgets, new { name = "no-token", password = "pw-no-token" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.PostAsJsonAsync(widgets, new { name = "forged" })).StatusCode);
        for (var i = 0; i < 9; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/areas/{Guid.NewGuid()}/widgets/{Guid.NewGuid()}")).StatusCode);
        }

        // Twelve refused calls from one source: five are recorded, the rest only counted.
        List<JsonObject> recorded;
        await using (var scope = sample.Services.CreateAsyncScope())
        {
            recorded = (await scope.ServiceProvider.GetRequiredService<AuditDbContext>().Set<OutboxMessage>().AsNoTracking()
                    .Where(m => m.MessageType == typeof(AuditEventRecorded).FullName).Select(m => m.Body).ToListAsync())
                .Select(b => JsonNode.Parse(b)!.AsObject()).ToList();
        }

        Assert.Equal(5, recorded.Count);
        Assert.All(recorded, e => Assert.Null(e["recipientAreaId"]));

        var platform = audit.CreateClient(infra.Tokens.Issue(Roles.PlatformAdmin, null, "root-id", "root"));
        var events = await AuditFixture.WaitForEventsAsync(platform, "/api/audit/events?eventSource=sample", 5);
        var cross = events.Single(e => e!["eventName"]!.GetValue<string>() == "CreateWidget" && e["userIdentity"]!["type"]!.GetValue<string>() == "AssumedRole")!;
        Assert.Equal(attacker.ToString(), cross["userIdentity"]!["accountId"]!.GetValue<string>());
        Assert.Equal("AreaNotReachable", cross["additionalEventData"]!["untrusted"]!.GetValue<string>());
        Assert.Equal("platform", cross["recipientAccountId"]!.GetValue<string>());
        Assert.Equal(victim.ToString(), cross["additionalEventData"]!["requestedAreaId"]!.GetValue<string>());
        // The call without a token and the one with a token signed by someone else: anonymous, bodies not kept.
        Assert.Equal(2, events.Count(e => e!["eventName"]!.GetValue<string>() == "CreateWidget" && e["userIdentity"]!["type"]!.GetValue<string>() == "Unknown"
            && e["errorCode"]!.GetValue<string>() == "Unauthenticated" && e["requestParameters"]!["body"]!["omitted"] is not null
            && e["recipientAccountId"]!.GetValue<string>() == "platform"));
        var everything = events.ToJsonString();
        foreach (var secret in new[] { "pw-cross-area", "pw-no-token", "cross-area\"", "no-token\"" })
        {
            Assert.DoesNotContain(secret, everything);
        }

        // The victim's area got nothing: no events, no audit area, no digests, no files.
        var writer = audit.Writer();
        await writer.DeliverAsync(CancellationToken.None);
        await writer.WriteDigestsAsync(DateTimeOffset.UtcNow.AddHours(2), CancellationToken.None);
        await using (var scope = audit.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
            Assert.False(await db.Events.AnyAsync(e => e.AreaId == victim));
            Assert.False(await db.Areas.AnyAsync(a => a.AreaKey == victim.ToString() || a.AreaKey == attacker.ToString()));
            Assert.False(await db.Digests.AnyAsync(d => d.AreaKey == victim.ToString()));
        }

        Assert.Empty(await AuditFixture.ReadObjectsAsync(infra.CreateS3Client(), bucket, $"AuditLogs/{victim}/"));
        Assert.NotEmpty(await AuditFixture.ReadObjectsAsync(infra.CreateS3Client(), bucket, "AuditLogs/platform/"));
    }

    [Fact]
    public async Task Monitoring_reads_and_health_are_not_management_events_while_changes_under_ops_are()
    {
        await using var sample = await SampleService.StartAsync(infra, await infra.NewRabbitMqVirtualHostAsync());
        var operatorClient = sample.CreateClient(infra.Tokens.Issue(Roles.Operator, null, "ops-id", "ops"));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await operatorClient.GetAsync("/api/ops/widgets")).StatusCode);
        }

        foreach (var path in new[] { "/health", "/alive", "/metrics" })
        {
            (await operatorClient.GetAsync(path)).Dispose();
        }

        Assert.Equal(HttpStatusCode.OK, (await operatorClient.PostAsync("/api/ops/widgets/recount", null)).StatusCode);

        await using var scope = sample.Services.CreateAsyncScope();
        var events = await scope.ServiceProvider.GetRequiredService<AuditDbContext>().Set<OutboxMessage>().AsNoTracking()
            .Where(m => m.MessageType == typeof(AuditEventRecorded).FullName).Select(m => m.Body).ToListAsync();
        var only = JsonNode.Parse(Assert.Single(events))!;
        Assert.False(only["readOnly"]!.GetValue<bool>());
        Assert.Equal(200, only["httpStatusCode"]!.GetValue<int>());
    }
}
