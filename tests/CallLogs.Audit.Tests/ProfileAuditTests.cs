using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CallLogs.Profile.Data;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;

namespace CallLogs.Audit.Tests;

/// <summary>The real profile service's management calls, as the audit trail shows them.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class ProfileAuditTests(Infrastructure infra)
{
    [Fact]
    public async Task Creating_reading_and_deleting_an_export_profile_gives_the_right_events_without_secrets()
    {
        await using var audit = await AuditFixture.StartAuditAsync(infra, await infra.NewBucketAsync());
        await using var profile = await ServiceFactory<ProfileDbContext>.StartAsync(infra, "profile", new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = audit.Configuration["ConnectionStrings:messaging"],
            ["Outbox:PollInterval"] = "00:00:00.200",
        });
        using var platform = profile.CreateClient(infra.Tokens.Issue(Roles.PlatformAdmin, null, "root-id", "root"));
        var area = (await (await platform.PostAsJsonAsync("/api/areas", new { name = $"Audited {Guid.NewGuid():N}" })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");
        using var admin = profile.CreateClient(token);

        using var created = await admin.PostAsJsonAsync($"/api/areas/{area}/export-profiles", new
        {
            name = "Audited export",
            s3Bucket = "audited-bucket",
            encryption = new
            {
                enabled = true,
                iamRoleArn = "arn:aws:iam::123456789012:role/Export",
                cmkKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                iamRoleExternalId = "very-secret-external-id",
            },
            collectFrom = DateTimeOffset.UtcNow.AddHours(2),
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/areas/{area}/export-profiles/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/areas/{area}/export-profiles/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/areas/{area}/export-profiles/{id}")).StatusCode);

        using var lookup = audit.CreateClient(token);
        var events = await AuditFixture.WaitForEventsAsync(lookup, $"/api/areas/{area}/audit/events?eventSource=profile", 4);
        Assert.Equal(["DeleteExportProfile", "DeleteExportProfile", "GetExportProfile", "CreateExportProfile"],
            events.Take(4).Select(e => e!["eventName"]!.GetValue<string>()));
        var (failed, deleted, read, create) = (events[0]!, events[1]!, events[2]!, events[3]!);

        Assert.False(create["readOnly"]!.GetValue<bool>());
        Assert.Equal(id, create["responseElements"]!["id"]!.GetValue<string>());
        Assert.Equal("Audited export", create["requestParameters"]!["body"]!["name"]!.GetValue<string>());
        Assert.True(read["readOnly"]!.GetValue<bool>());
        Assert.Null(read["responseElements"]);
        Assert.Equal(204, deleted["additionalEventData"]!["httpStatusCode"]!.GetValue<int>());
        Assert.Equal(404, failed["additionalEventData"]!["httpStatusCode"]!.GetValue<int>());
        Assert.NotNull(failed["errorCode"]);
        Assert.DoesNotContain("very-secret-external-id", events.ToJsonString());

        // The same profile is one resource, of one type and ARN, in every event, and a lookup by its id finds them all.
        var arn = $"arn:calllogs:profile:local:{area}:export-profile/{id}";
        foreach (var e in new[] { create, read, deleted, failed })
        {
            Assert.Contains(e["resources"]!.AsArray(), r => r!["type"]!.GetValue<string>() == "CallLogs::Profile::ExportProfile" && r["ARN"]!.GetValue<string>() == arn);
        }

        Assert.Equal(4, (await AuditFixture.LookupAsync(lookup, $"/api/areas/{area}/audit/events?resourceName={id}")).Count);
        Assert.Equal(4, (await AuditFixture.LookupAsync(lookup, $"/api/areas/{area}/audit/events?resourceName={Uri.EscapeDataString(arn)}")).Count);
        Assert.Equal(4, (await AuditFixture.LookupAsync(lookup, $"/api/areas/{area}/audit/events?resourceType=ExportProfile")).Count);
        Assert.Equal(4, (await AuditFixture.LookupAsync(lookup, $"/api/areas/{area}/audit/events?resourceType=CallLogs::Profile::ExportProfile")).Count);
        Assert.Contains(AuditRedaction.Marker, create.ToJsonString());
    }
}
