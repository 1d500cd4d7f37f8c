using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Amazon.S3.Model;
using CallLogs.Audit.Delivery;
using CallLogs.Audit.Domain;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Storage;
using CallLogs.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace CallLogs.Audit.Tests;

[Collection(InfrastructureCollection.Name)]
public sealed class TrailTests(Infrastructure infra, ITestOutputHelper output)
{
    [Fact]
    public async Task No_event_is_stored_or_delivered_twice()
    {
        var area = Guid.NewGuid();
        var bucket = await infra.NewBucketAsync();
        await using var audit = await AuditFixture.StartAuditAsync(infra, bucket);
        var bus = audit.Services.GetRequiredService<IBus>();
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");
        var lookup = audit.CreateClient(token);
        var now = DateTimeOffset.UtcNow;
        var repeated = AuditFixture.Event(area, "CreateWidget", now.AddSeconds(-30));
        var others = Enumerable.Range(0, 20).Select(i => AuditFixture.Event(area, "UpdateWidget", now.AddSeconds(-20 + i * 0.1))).ToList();

        await bus.Publish(repeated);
        await bus.Publish(repeated);
        foreach (var other in others)
        {
            await bus.Publish(other);
        }

        await bus.Publish(repeated);
        await AuditFixture.WaitForEventsAsync(lookup, $"/api/areas/{area}/audit/events?eventSource=test-src&maxResults=50", 21);
        var writer = audit.Writer();
        await Task.WhenAll(writer.DeliverAsync(CancellationToken.None), writer.DeliverAsync(CancellationToken.None), writer.DeliverAsync(CancellationToken.None));

        // A late repeat, after its first copy was delivered, and a new event.
        var late = AuditFixture.Event(area, "DeleteWidget", DateTimeOffset.UtcNow);
        await bus.Publish(repeated);
        await bus.Publish(late);
        await AuditFixture.WaitForEventsAsync(lookup, $"/api/areas/{area}/audit/events?eventId={late.EventId}", 1);
        await writer.DeliverAsync(CancellationToken.None);
        await writer.DeliverAsync(CancellationToken.None);

        Assert.Single(await AuditFixture.LookupAsync(lookup, $"/api/areas/{area}/audit/events?eventId={repeated.EventId}"));
        Assert.Equal(22, (await AuditFixture.LookupAsync(lookup, $"/api/areas/{area}/audit/events?eventSource=test-src&maxResults=50")).Count);
        var files = await AuditFixture.ReadObjectsAsync(infra.CreateS3Client(), bucket, $"AuditLogs/{area}/");
        var delivered = AuditFixture.Records(files.Values).Select(r => r["eventID"]!.GetValue<string>()).ToList();
        var expected = others.Append(repeated).Append(late).Select(e => e.EventId.ToString()).Order().ToList();
        Assert.Equal(expected, delivered.Where(id => expected.Contains(id)).Order().ToList());
        Assert.Equal(delivered.Count, delivered.Distinct().Count());
        Assert.All(files.Keys, key => Assert.Matches(
            $@"^AuditLogs/{area}/local/\d{{4}}/\d{{2}}/\d{{2}}/{area}_Audit_local_\d{{8}}T\d{{4}}Z_[A-Z0-9]{{16}}\.json\.gz$", key));
    }

    [Fact]
    public async Task Validation_reports_valid_for_an_untouched_chain_and_changed_or_missing_after_tampering()
    {
        var area = Guid.NewGuid();
        var bucket = await infra.NewBucketAsync();
        await using var audit = await AuditFixture.StartAuditAsync(infra, bucket);
        var bus = audit.Services.GetRequiredService<IBus>();
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");
        var client = audit.CreateClient(token);
        var writer = audit.Writer();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);

        await bus.Publish(AuditFixture.Event(area, "CreateWidget", DateTimeOffset.UtcNow));
        await AuditFixture.WaitForEventsAsync(client, $"/api/areas/{area}/audit/events?eventSource=test-src", 1);
        await writer.DeliverAsync(CancellationToken.None);
        await bus.Publish(AuditFixture.Event(area, "UpdateWidget", DateTimeOffset.UtcNow));
        await AuditFixture.WaitForEventsAsync(client, $"/api/areas/{area}/audit/events?eventSource=test-src", 2);
        await writer.DeliverAsync(CancellationToken.None);
        // Three hours pass: the hour of the files and two empty hours get their digests.
        var end = DateTimeOffset.UtcNow.AddHours(3);
        Assert.Equal(3, await writer.WriteDigestsAsync(end, CancellationToken.None));
        var range = $"startTime={Uri.EscapeDataString(start.ToString("O"))}&endTime={Uri.EscapeDataString(end.ToString("O"))}";

        var untouched = await ValidateAsync(client, area, range);
        Assert.True(untouched.Valid, string.Join("\n", untouched.Results));
        Assert.Equal(3, untouched.DigestsChecked);
        Assert.True(untouched.LogFilesChecked >= 2);
        Assert.Equal(3, await RunCommandAsync(audit, area, start, end, expectedExit: 0));

        var s3 = infra.CreateS3Client();
        var digests = untouched.Results.Where(r => r.Kind == "digest").Select(r => r.Key).ToList();
        var logFile = untouched.Results.First(r => r.Kind == "log").Key;
        using (var changed = new MemoryStream(TrailWriter.Gzip("""{"Records":[]}"""u8.ToArray())))
        {
            await s3.PutObjectAsync(S3Uploads.Put(bucket, logFile, changed, "application/gzip"));
        }

        await s3.DeleteObjectAsync(bucket, digests[1]);
        var newest = await s3.GetObjectAsync(bucket, digests[0]);
        var newestContent = TrailWriter.Gunzip(newest.ResponseStream);
        var signature = newest.Metadata["x-amz-meta-signature"] ?? newest.Metadata["signature"];
        var forged = JsonNode.Parse(newestContent)!;
        forged["newestEventTime"] = "2000-01-01T00:00:00Z";
        using (var body = new MemoryStream(TrailWriter.Gzip(System.Text.Encoding.UTF8.GetBytes(forged.ToJsonString()))))
        {
            var put = S3Uploads.Put(bucket, digests[0], body, "application/gzip");
            put.Metadata["signature"] = signature;
            await s3.PutObjectAsync(put);
        }

        var tampered = await ValidateAsync(client, area, range);
        Assert.False(tampered.Valid);
        Assert.Equal(TrailObjectStatus.Changed, tampered.Results.Single(r => r.Key == digests[0]).Status);
        Assert.Equal(TrailObjectStatus.Missing, tampered.Results.Single(r => r.Key == digests[1]).Status);
        Assert.Equal(TrailObjectStatus.Valid, tampered.Results.Single(r => r.Key == digests[2]).Status);
        Assert.Equal(TrailObjectStatus.Changed, tampered.Results.Single(r => r.Key == logFile).Status);
        Assert.All(tampered.Results.Where(r => r.Kind == "log" && r.Key != logFile), r => Assert.Equal(TrailObjectStatus.Valid, r.Status));

        await s3.DeleteObjectAsync(bucket, logFile);
        var deleted = await ValidateAsync(client, area, range);
        Assert.Equal(TrailObjectStatus.Missing, deleted.Results.Single(r => r.Key == logFile).Status);
        await RunCommandAsync(audit, area, start, end, expectedExit: 1);
    }

    [Fact]
    public async Task Validation_says_no_digest_yet_while_delivered_files_wait_for_their_hours_digest()
    {
        var area = Guid.NewGuid();
        await using var audit = await AuditFixture.StartAuditAsync(infra, await infra.NewBucketAsync());
        var client = audit.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice"));
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        var e = AuditFixture.Event(area, "CreateWidget", DateTimeOffset.UtcNow);
        await audit.Services.GetRequiredService<IBus>().Publish(e);
        await AuditFixture.WaitForEventsAsync(client, $"/api/areas/{area}/audit/events?eventId={e.EventId}", 1);
        await audit.Writer().DeliverAsync(CancellationToken.None);
        var end = DateTimeOffset.UtcNow.AddMinutes(1);

        var report = await ValidateAsync(client, area, $"startTime={Uri.EscapeDataString(start.ToString("O"))}&endTime={Uri.EscapeDataString(end.ToString("O"))}");

        Assert.False(report.Valid);
        Assert.Equal("NoDigestYet", report.Status);
        Assert.Equal(0, report.DigestsChecked);
        Assert.True(report.LogFilesNotYetDigested >= 1);
        Assert.All(report.Results, r => Assert.Equal(TrailObjectStatus.NotYetDigested, r.Status));
        await RunCommandAsync(audit, area, start, end, expectedExit: 1);
    }

    [Fact]
    public async Task The_public_key_served_by_the_api_verifies_the_digest_signature()
    {
        var area = Guid.NewGuid();
        var bucket = await infra.NewBucketAsync();
        await using var audit = await AuditFixture.StartAuditAsync(infra, bucket);
        var client = audit.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice"));
        await audit.Services.GetRequiredService<IBus>().Publish(AuditFixture.Event(area, "CreateWidget", DateTimeOffset.UtcNow));
        await AuditFixture.WaitForEventsAsync(client, $"/api/areas/{area}/audit/events?eventSource=test-src", 1);
        await audit.Writer().DeliverAsync(CancellationToken.None);
        await audit.Writer().WriteDigestsAsync(DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None);

        var keys = (await client.GetFromJsonAsync<JsonArray>("/api/audit/public-keys"))!;
        var objects = await infra.CreateS3Client().ListObjectsAsync(new ListObjectsRequest { BucketName = bucket, Prefix = $"AuditLogs/{area}/Audit-Digest/" });
        var digest = Assert.Single(objects.S3Objects);
        using var response = await infra.CreateS3Client().GetObjectAsync(bucket, digest.Key);
        var content = TrailWriter.Gunzip(response.ResponseStream);
        var document = DigestDocument.Parse(content)!;
        var publicKey = keys.Single(k => k!["fingerprint"]!.GetValue<string>() == document.DigestPublicKeyFingerprint)!["publicKeyPem"]!.GetValue<string>();

        var signed = DigestDocument.SigningString(document.DigestEndTime, bucket, digest.Key, AuditRecords.Sha256Hex(content), null);
        Assert.True(DigestSigner.Verify(publicKey, signed, response.Metadata["x-amz-meta-signature"]));
        Assert.Equal("SHA256withRSA", document.DigestSignatureAlgorithm);
        Assert.Single(document.LogFiles);
        Assert.Null(document.PreviousDigestS3Object);
    }

    [Fact]
    public async Task Time_from_a_call_to_searchable_and_to_S3_is_measured()
    {
        var area = Guid.NewGuid();
        var bucket = await infra.NewBucketAsync();
        await using var audit = await AuditFixture.StartAuditAsync(infra, bucket, deliveryInterval: TimeSpan.FromSeconds(1));
        await using var sample = await SampleService.StartAsync(infra, audit.Configuration["ConnectionStrings:messaging"]!);
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");
        var lookup = audit.CreateClient(token);
        var s3 = infra.CreateS3Client();
        // Warm up both paths once.
        await AuditFixture.CreateWidgetAsync(sample.CreateClient(token), area, new { name = "warm-up" });
        await AuditFixture.WaitForEventsAsync(lookup, $"/api/areas/{area}/audit/events?eventName=CreateWidget", 1);

        var searchable = new List<double>();
        var inS3 = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using var created = await AuditFixture.CreateWidgetAsync(sample.CreateClient(token), area, new { name = $"timed-{i}" });
            var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
            var events = await AuditFixture.WaitForEventsAsync(lookup, $"/api/areas/{area}/audit/events?eventName=CreateWidget&resourceName={id}", 1);
            searchable.Add(clock.Elapsed.TotalMilliseconds);
            var eventId = events[0]!["eventID"]!.GetValue<string>();
            await Eventually.Until(async () =>
            {
                var files = await AuditFixture.ReadObjectsAsync(s3, bucket, $"AuditLogs/{area}/local/");
                return files.Values.Any(f => f.Contains(eventId, StringComparison.Ordinal));
            }, TimeSpan.FromSeconds(60), "the event is in a log file in S3");
            inS3.Add(clock.Elapsed.TotalMilliseconds);
        }

        output.WriteLine($"call -> searchable: median {Median(searchable):0} ms (all: {string.Join(", ", searchable.Select(x => x.ToString("0")))})");
        output.WriteLine($"call -> in S3 with a 1 s delivery interval: median {Median(inS3):0} ms (all: {string.Join(", ", inS3.Select(x => x.ToString("0")))})");
        Assert.Equal(5, inS3.Count);
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static async Task<TrailValidationReport> ValidateAsync(HttpClient client, Guid area, string range)
    {
        using var response = await client.GetAsync($"/api/areas/{area}/audit/validation?{range}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return System.Text.Json.JsonSerializer.Deserialize<TrailValidationReport>(body, JsonOptions)!;
    }

    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    private async Task<int> RunCommandAsync(ServiceFactory<AuditServiceMarker> audit, Guid area, DateTimeOffset start, DateTimeOffset end, int expectedExit)
    {
        using var text = new StringWriter();
        var exit = await ValidateTrailCommand.RunAsync(audit.Services,
            ["validate", "--area", area.ToString(), "--from", start.ToString("O"), "--to", end.ToString("O")], text, TimeProvider.System);
        output.WriteLine(text.ToString());
        Assert.Equal(expectedExit, exit);
        return text.ToString().Split('\n').Count(l => l.StartsWith("VALID    digest", StringComparison.Ordinal));
    }
}
