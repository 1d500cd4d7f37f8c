using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CallLogs.Audit.Data;
using CallLogs.Audit.Delivery;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Storage;
using CallLogs.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.Audit.Tests;

/// <summary>An area's own trail: managed by its admins, delivered to its bucket with its own digest chain, validated like the platform's.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class AreaTrailTests(Infrastructure infra)
{
    private static readonly object Encryption = new
    {
        enabled = true,
        iamRoleArn = "arn:aws:iam::123456789012:role/calllogs-audit",
        cmkKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        iamRoleExternalId = "trail-external-id-42",
    };

    [Fact]
    public async Task An_area_admin_creates_views_changes_stops_and_deletes_the_trail_of_their_area_and_nobody_else_can()
    {
        var area = Guid.NewGuid();
        var platformBucket = await infra.NewBucketAsync();
        await using var audit = await AuditFixture.StartAuditAsync(infra, platformBucket);
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");
        var admin = audit.CreateClient(token);
        var trail = $"/api/areas/{area}/audit/trail";

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(trail)).StatusCode);
        await AssertRefusedAsync(admin, trail, new { s3Bucket = "s3://my-bucket" }, "s3Bucket", "URL schemes");
        await AssertRefusedAsync(admin, trail, new { s3Bucket = platformBucket }, "s3Bucket", "platform trail's bucket");
        await AssertRefusedAsync(admin, trail, new { }, "s3Bucket", "Give the bucket");
        await AssertRefusedAsync(admin, trail, new { s3Bucket = "my-bucket", encryption = new { enabled = true, cmkKeyArn = "alias/x" } },
            "encryption.iamRoleArn", "IAM Role ARN");
        Assert.Equal(HttpStatusCode.Unauthorized, (await audit.CreateClient(null).PostAsJsonAsync(trail, new { s3Bucket = "my-bucket" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden,
            (await audit.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, area, "v-id", "victor")).PostAsJsonAsync(trail, new { s3Bucket = "my-bucket" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound,
            (await audit.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, Guid.NewGuid(), "eve-id", "eve")).PostAsJsonAsync(trail, new { s3Bucket = "my-bucket" })).StatusCode);

        using var created = await admin.PostAsJsonAsync(trail, new { s3Bucket = "my-bucket/org/audit", encryption = Encryption });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = body["id"]!.GetValue<string>();
        Assert.Equal("my-bucket/org/audit", body["s3Bucket"]!.GetValue<string>());
        Assert.True(body["isLogging"]!.GetValue<bool>());
        Assert.Equal($"arn:calllogs:audit:local:{area}:audit-trail/{id}", body["trailArn"]!.GetValue<string>());
        Assert.DoesNotContain("trail-external-id-42", body.ToJsonString());
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsJsonAsync(trail, new { s3Bucket = "other-bucket" })).StatusCode);

        using var changed = await admin.PatchAsJsonAsync(trail, new { s3Bucket = "new-bucket" });
        Assert.Equal("new-bucket", (await changed.Content.ReadFromJsonAsync<JsonObject>())!["s3Bucket"]!.GetValue<string>());
        Assert.True((await (await admin.PostAsync($"{trail}/stop", null)).Content.ReadFromJsonAsync<JsonObject>())!["isLogging"]!.GetValue<bool>() is false);
        Assert.True((await (await admin.PostAsync($"{trail}/start", null)).Content.ReadFromJsonAsync<JsonObject>())!["isLogging"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(trail)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(trail)).StatusCode);

        // Managing the trail is on the trail, as one resource, without the external id.
        var events = await AuditFixture.WaitForEventsAsync(admin, $"/api/areas/{area}/audit/events?resourceName={id}", 4);
        Assert.Equal(["StartLogging", "StopLogging", "UpdateTrail", "CreateTrail"], events.Select(e => e!["eventName"]!.GetValue<string>()));
        Assert.All(events, e => Assert.Contains(e!["resources"]!.AsArray(),
            r => r!["type"]!.GetValue<string>() == "CallLogs::Audit::AuditTrail" && r["ARN"]!.GetValue<string>() == $"arn:calllogs:audit:local:{area}:audit-trail/{id}"));
        Assert.DoesNotContain("trail-external-id-42", (await AuditFixture.LookupAsync(admin, $"/api/areas/{area}/audit/events")).ToJsonString());
    }

    [Fact]
    public async Task An_area_trail_delivers_the_areas_events_and_digests_to_its_bucket_and_validates_and_stopping_it_stops_only_its_delivery()
    {
        var area = Guid.NewGuid();
        var platformBucket = await infra.NewBucketAsync();
        var areaBucket = await infra.NewBucketAsync();
        await using var audit = await AuditFixture.StartAuditAsync(infra, platformBucket);
        var admin = audit.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice"));
        var bus = audit.Services.GetRequiredService<IBus>();
        var writer = audit.Writer();
        var s3 = infra.CreateS3Client();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync($"/api/areas/{area}/audit/trail", new { s3Bucket = $"{areaBucket}/org/audit" })).StatusCode);

        var first = AuditFixture.Event(area, "CreateWidget", DateTimeOffset.UtcNow);
        await bus.Publish(first);
        await AuditFixture.WaitForEventsAsync(admin, $"/api/areas/{area}/audit/events?eventId={first.EventId}", 1);
        await writer.DeliverAsync(CancellationToken.None);

        var areaFiles = await AuditFixture.ReadObjectsAsync(s3, areaBucket, $"org/audit/AuditLogs/{area}/local/");
        Assert.Contains(first.EventId.ToString(), EventIds(areaFiles.Values));
        Assert.Contains(first.EventId.ToString(), EventIds((await AuditFixture.ReadObjectsAsync(s3, platformBucket, $"AuditLogs/{area}/local/")).Values));
        var notYet = await ValidateAsync(admin, area, start, DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.False(notYet.Valid);
        Assert.Equal("NoDigestYet", notYet.Status);
        Assert.True(notYet.LogFilesNotYetDigested >= 1);

        // Stopped: events go on to the platform trail only; started again: to both.
        await AssertOkAsync(await admin.PostAsync($"/api/areas/{area}/audit/trail/stop", null));
        var whileStopped = AuditFixture.Event(area, "UpdateWidget", DateTimeOffset.UtcNow);
        await bus.Publish(whileStopped);
        await AuditFixture.WaitForEventsAsync(admin, $"/api/areas/{area}/audit/events?eventId={whileStopped.EventId}", 1);
        await AssertOkAsync(await admin.PostAsync($"/api/areas/{area}/audit/trail/start", null));
        var afterStart = AuditFixture.Event(area, "DeleteWidget", DateTimeOffset.UtcNow);
        await bus.Publish(afterStart);
        await AuditFixture.WaitForEventsAsync(admin, $"/api/areas/{area}/audit/events?eventId={afterStart.EventId}", 1);
        await writer.DeliverAsync(CancellationToken.None);
        // By eventID: the lookups that waited for these events are events too, and name them in their parameters.
        var inArea = EventIds((await AuditFixture.ReadObjectsAsync(s3, areaBucket, $"org/audit/AuditLogs/{area}/local/")).Values);
        var inPlatform = EventIds((await AuditFixture.ReadObjectsAsync(s3, platformBucket, $"AuditLogs/{area}/local/")).Values);
        Assert.DoesNotContain(whileStopped.EventId.ToString(), inArea);
        Assert.Contains(afterStart.EventId.ToString(), inArea);
        Assert.Contains(whileStopped.EventId.ToString(), inPlatform);

        var end = DateTimeOffset.UtcNow.AddHours(2);
        Assert.True(await writer.WriteDigestsAsync(end, CancellationToken.None) >= 4);
        var digests = await AuditFixture.ReadObjectsAsync(s3, areaBucket, $"org/audit/AuditLogs/{area}/Audit-Digest/");
        Assert.Equal(2, digests.Count);
        Assert.All(digests.Values, d => Assert.Contains($"\"digestS3Bucket\":\"{areaBucket}\"", d));
        var valid = await ValidateAsync(admin, area, start, end);
        Assert.True(valid.Valid, string.Join("\n", valid.Results));
        Assert.Equal("Valid", valid.Status);
        Assert.Equal(2, valid.DigestsChecked);
        Assert.True(valid.LogFilesChecked >= 2);

        var logFile = valid.Results.First(r => r.Kind == "log").Key;
        using (var changed = new MemoryStream(TrailWriter.Gzip("""{"Records":[]}"""u8.ToArray())))
        {
            await s3.PutObjectAsync(S3Uploads.Put(areaBucket, logFile, changed, "application/gzip"));
        }

        var tampered = await ValidateAsync(admin, area, start, end);
        Assert.False(tampered.Valid);
        Assert.Equal("NotValid", tampered.Status);
        Assert.Equal(TrailObjectStatus.Changed, tampered.Results.Single(r => r.Key == logFile).Status);
        // The platform's chain of the same area is untouched.
        using var platform = await admin.GetAsync($"/api/areas/{area}/audit/validation?startTime={Uri.EscapeDataString(start.ToString("O"))}&endTime={Uri.EscapeDataString(end.ToString("O"))}");
        Assert.True((await platform.Content.ReadFromJsonAsync<TrailValidationReport>(Json))!.Valid);
    }

    [Fact]
    public async Task One_areas_failing_delivery_never_stops_the_others_and_is_shown_until_it_succeeds()
    {
        var failing = Guid.NewGuid();
        var healthy = Guid.NewGuid();
        var platformBucket = await infra.NewBucketAsync();
        var healthyBucket = await infra.NewBucketAsync();
        var missingBucket = $"missing-{Guid.NewGuid():N}"[..30];
        await using var audit = await AuditFixture.StartAuditAsync(infra, platformBucket);
        var failingAdmin = audit.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, failing, "f-id", "fiona"));
        var healthyAdmin = audit.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, healthy, "h-id", "hugo"));
        Assert.Equal(HttpStatusCode.Created, (await failingAdmin.PostAsJsonAsync($"/api/areas/{failing}/audit/trail", new { s3Bucket = missingBucket })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await healthyAdmin.PostAsJsonAsync($"/api/areas/{healthy}/audit/trail", new { s3Bucket = healthyBucket })).StatusCode);
        var bus = audit.Services.GetRequiredService<IBus>();
        var huge = AuditFixture.Event(healthy, "CreateWidget", DateTimeOffset.UtcNow) with
        {
            RequestParameters = new JsonObject { ["body"] = new JsonObject { ["note"] = new string('h', 100_000) } },
        };
        var lost = AuditFixture.Event(failing, "CreateWidget", DateTimeOffset.UtcNow);
        await bus.Publish(huge);
        await bus.Publish(lost);
        await AuditFixture.WaitForEventsAsync(healthyAdmin, $"/api/areas/{healthy}/audit/events?eventId={huge.EventId}", 1);
        await AuditFixture.WaitForEventsAsync(failingAdmin, $"/api/areas/{failing}/audit/events?eventId={lost.EventId}", 1);

        var writer = audit.Writer();
        await writer.DeliverAsync(CancellationToken.None);
        await writer.WriteDigestsAsync(DateTimeOffset.UtcNow.AddHours(2), CancellationToken.None);

        var s3 = infra.CreateS3Client();
        Assert.Contains(huge.EventId.ToString(), EventIds((await AuditFixture.ReadObjectsAsync(s3, healthyBucket, $"AuditLogs/{healthy}/local/")).Values));
        Assert.NotEmpty(await AuditFixture.ReadObjectsAsync(s3, healthyBucket, $"AuditLogs/{healthy}/Audit-Digest/"));
        Assert.Contains(lost.EventId.ToString(), EventIds((await AuditFixture.ReadObjectsAsync(s3, platformBucket, $"AuditLogs/{failing}/local/")).Values));
        Assert.NotEmpty(await AuditFixture.ReadObjectsAsync(s3, platformBucket, $"AuditLogs/{failing}/Audit-Digest/"));
        var status = (await failingAdmin.GetFromJsonAsync<JsonObject>($"/api/areas/{failing}/audit/trail"))!;
        Assert.Contains("NoSuchBucket", status["latestDeliveryError"]!.GetValue<string>());
        Assert.Equal(1, status["logFilesWaiting"]!.GetValue<int>());
        Assert.Null((await healthyAdmin.GetFromJsonAsync<JsonObject>($"/api/areas/{healthy}/audit/trail"))!["latestDeliveryError"]);

        // The bucket appears; once the backoff has passed, the waiting file goes out and the error is cleared.
        await s3.PutBucketAsync(missingBucket);
        await using (var scope = audit.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<AuditDbContext>().LogFiles.Where(f => f.Bucket == missingBucket)
                .ExecuteUpdateAsync(s => s.SetProperty(f => f.NextAttemptAt, DateTimeOffset.UtcNow));
        }

        await writer.DeliverAsync(CancellationToken.None);
        Assert.Contains(lost.EventId.ToString(), EventIds((await AuditFixture.ReadObjectsAsync(s3, missingBucket, $"AuditLogs/{failing}/local/")).Values));
        status = (await failingAdmin.GetFromJsonAsync<JsonObject>($"/api/areas/{failing}/audit/trail"))!;
        Assert.Null(status["latestDeliveryError"]);
        Assert.Equal(0, status["logFilesWaiting"]!.GetValue<int>());
    }

    [Fact]
    public async Task An_encrypting_trail_assumes_its_role_with_the_external_id_and_writes_with_SSE_KMS()
    {
        var area = Guid.NewGuid();
        var areaBucket = await infra.NewBucketAsync();
        await using var sts = FakeSts.Start();
        await using var proxy = await TcpProxy.StartAsync(infra.S3.Endpoint!);
        await using var audit = await AuditFixture.StartAuditAsync(infra, await infra.NewBucketAsync(), overrides: new Dictionary<string, string?>
        {
            ["ConnectionStrings:storage"] = $"Endpoint=http://127.0.0.1:{proxy.Port}/;AccessKey={infra.S3.AccessKey};SecretKey={infra.S3.SecretKey};Region={infra.S3.Region}",
            ["Audit:StsEndpoint"] = sts.Url,
        });
        var admin = audit.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice"));
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync($"/api/areas/{area}/audit/trail", new { s3Bucket = areaBucket, encryption = Encryption })).StatusCode);
        var e = AuditFixture.Event(area, "CreateWidget", DateTimeOffset.UtcNow);
        await audit.Services.GetRequiredService<IBus>().Publish(e);
        await AuditFixture.WaitForEventsAsync(admin, $"/api/areas/{area}/audit/events?eventId={e.EventId}", 1);

        await audit.Writer().DeliverAsync(CancellationToken.None);

        Assert.Contains(e.EventId.ToString(), EventIds((await AuditFixture.ReadObjectsAsync(infra.CreateS3Client(), areaBucket, $"AuditLogs/{area}/local/")).Values));
        var call = Assert.Single(sts.Requests);
        Assert.Contains("Action=AssumeRole", call);
        Assert.Contains($"RoleArn={Uri.EscapeDataString("arn:aws:iam::123456789012:role/calllogs-audit")}", call);
        Assert.Contains("ExternalId=trail-external-id-42", call);
        // The PUT may follow another request's body on the same connection: take its headers from where it starts.
        var sent = proxy.SentText();
        var at = sent.IndexOf($"PUT /{areaBucket}/", StringComparison.Ordinal);
        Assert.True(at >= 0, "a PUT to the area's bucket went through the proxy");
        var put = sent[at..sent.IndexOf("\r\n\r\n", at, StringComparison.Ordinal)];
        Assert.Contains("x-amz-server-side-encryption: aws:kms", put, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("x-amz-server-side-encryption-aws-kms-key-id: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", put,
            StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"x-amz-security-token: {FakeSts.SessionToken}", put, StringComparison.OrdinalIgnoreCase);
    }

    private static HashSet<string> EventIds(IEnumerable<string> logFiles) =>
        AuditFixture.Records(logFiles).Select(r => r["eventID"]!.GetValue<string>()).ToHashSet();

    private static async Task AssertOkAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }
    }

    private static async Task AssertRefusedAsync(HttpClient client, string path, object body, string field, string message)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, problem["errors"]![field]![0]!.GetValue<string>());
    }

    private static async Task<TrailValidationReport> ValidateAsync(HttpClient client, Guid area, DateTimeOffset start, DateTimeOffset end)
    {
        using var response = await client.GetAsync(
            $"/api/areas/{area}/audit/trail/validation?startTime={Uri.EscapeDataString(start.ToString("O"))}&endTime={Uri.EscapeDataString(end.ToString("O"))}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonSerializer.Deserialize<TrailValidationReport>(body, Json)!;
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
}
