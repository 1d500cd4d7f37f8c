using System.Net;
using System.Text.Json.Nodes;
using CallLogs.Audit.Domain;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.Audit.Tests;

/// <summary>Event history downloads: everything a lookup's filters match, as JSON or CSV, streamed, for the caller's area only.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class DownloadTests(Infrastructure infra)
{
    [Fact]
    public async Task A_download_has_every_event_the_filters_match_as_json_or_csv_and_only_the_callers_area()
    {
        var area = Guid.NewGuid();
        var other = Guid.NewGuid();
        await using var audit = await AuditFixture.StartAuditAsync(infra, await infra.NewBucketAsync());
        var bus = audit.Services.GetRequiredService<IBus>();
        var now = DateTimeOffset.UtcNow;
        // More than a lookup page holds.
        var updates = Enumerable.Range(0, 120).Select(i => AuditFixture.Event(area, "UpdateWidget", now.AddSeconds(-200 + i))).ToList();
        var created = AuditFixture.Event(area, "CreateWidget", now.AddSeconds(-300)) with { UserAgent = "=cmd|' /C calc'!A0" };
        await bus.PublishBatch(updates.Append(created).Append(AuditFixture.Event(other, "UpdateWidget", now)));
        var admin = audit.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice"));
        var download = $"/api/areas/{area}/audit/events/download?eventSource=test-src&eventName=UpdateWidget";
        var records = await Eventually.Get(async () => JsonNode.Parse(await admin.GetStringAsync(download))!["Records"]!.AsArray(),
            r => r.Count == updates.Count, TimeSpan.FromSeconds(60), "every event is stored");
        Assert.Equal(updates.Select(e => e.EventId.ToString()).Reverse(), records.Select(r => r!["eventID"]!.GetValue<string>()));
        await AuditFixture.WaitForEventsAsync(admin, $"/api/areas/{area}/audit/events?eventId={created.EventId}", 1);
        using var json = await admin.GetAsync(download);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal("application/json", json.Content.Headers.ContentType!.MediaType);
        Assert.Contains(".json", json.Content.Headers.ContentDisposition!.FileName);

        using var csv = await admin.GetAsync($"/api/areas/{area}/audit/events/download?format=csv&eventSource=test-src");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(string.Join(',', EventCsv.Columns), lines[0]);
        Assert.Equal(122, lines.Length);
        Assert.StartsWith(created.EventId.ToString(), lines[^1]);
        Assert.Contains("'=cmd", lines[^1]);
        Assert.DoesNotContain(lines, l => l.Contains(other.ToString(), StringComparison.Ordinal));

        using var badFormat = await admin.GetAsync($"/api/areas/{area}/audit/events/download?format=xml");
        Assert.Equal(HttpStatusCode.BadRequest, badFormat.StatusCode);
        Assert.Contains("format", await badFormat.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync($"/api/areas/{area}/audit/events/download?maxResults=5")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/areas/{other}/audit/events/download")).StatusCode);
    }
}
