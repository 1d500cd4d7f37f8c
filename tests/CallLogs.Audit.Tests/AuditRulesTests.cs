using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CallLogs.Audit.Domain;
using CallLogs.ServiceDefaults.Audit;

namespace CallLogs.Audit.Tests;

public sealed class AuditRulesTests
{
    [Fact]
    public void Secrets_are_replaced_by_the_marker_at_any_depth_while_ids_and_plain_values_stay()
    {
        var input = JsonNode.Parse("""
            {
              "name": "daily export",
              "secretAccessKey": "s3cr3t",
              "destination": { "bucket": "b", "accessKey": "AKIA123", "externalId": "ext-1", "password": "pw" },
              "items": [ { "token": "t1", "tokenId": "id-1" } ],
              "api_key": "k",
              "accessKeyId": "jti-1",
              "profileId": "p-1",
              "note": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
            }
            """)!.AsObject();

        var redacted = AuditRedaction.RedactObject(input).ToJsonString();

        foreach (var secret in new[] { "s3cr3t", "AKIA123", "ext-1", "\"pw\"", "\"t1\"", "\"k\"", "c2lnbmF0dXJl" })
        {
            Assert.DoesNotContain(secret, redacted);
        }

        foreach (var kept in new[] { "daily export", "\"bucket\":\"b\"", "\"tokenId\":\"id-1\"", "\"accessKeyId\":\"jti-1\"", "\"profileId\":\"p-1\"" })
        {
            Assert.Contains(kept, redacted);
        }

        Assert.Equal("s3cr3t", input["secretAccessKey"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("POST", "/api/areas/{areaId:guid}/export-profiles", "CreateExportProfile")]
    [InlineData("GET", "/api/areas/{areaId:guid}/export-profiles", "ListExportProfiles")]
    [InlineData("GET", "/api/areas/{areaId:guid}/export-profiles/{profileId:guid}", "GetExportProfile")]
    [InlineData("PUT", "/api/areas/{areaId}/export-profiles/{profileId}", "UpdateExportProfile")]
    [InlineData("DELETE", "/api/areas/{areaId}/export-profiles/{profileId}", "DeleteExportProfile")]
    [InlineData("POST", "/api/areas/{areaId}/tokens/{tokenId}/rotate", "RotateToken")]
    [InlineData("GET", "/api/areas", "ListAreas")]
    [InlineData("POST", "/api/areas/{areaId}/stream-channels", "CreateStreamChannel")]
    [InlineData("GET", "/api/areas/{areaId}/policies/{policyId}", "GetPolicy")]
    public void An_unnamed_endpoint_gets_a_readable_event_name_from_its_method_and_route(string method, string route, string expected) =>
        Assert.Equal(expected, AuditEventNames.Derive(method, route));

    [Theory]
    [InlineData("/api/areas/{areaId:guid}", "areaId", "Area")]
    [InlineData("/api/areas/{areaId:guid}/export-profiles/{profileId:guid}", "profileId", "ExportProfile")]
    [InlineData("/api/areas/{areaId:guid}/export-profiles/{profileId:guid}/export-status", "profileId", "ExportProfile")]
    [InlineData("/api/areas/{areaId:guid}/export-profiles/{profileId:guid}/re-exports/{reExportId:guid}", "reExportId", "ReExport")]
    [InlineData("/api/areas/{areaId:guid}/stream-channel/tokens/{tokenId:guid}/enable", "tokenId", "StreamChannelToken")]
    [InlineData("/api/areas/{areaId:guid}/telephony/users/{uuid:guid}", "uuid", "TelephonyUser")]
    [InlineData("/api/things/{widgetId}", "widgetId", "Thing")]
    [InlineData("/{widgetId}", "widgetId", "Widget")]
    public void A_route_parameter_names_the_kind_of_the_collection_it_stands_in(string route, string parameter, string expected) =>
        Assert.Equal(expected, AuditEventNames.ParameterResourceType(route, parameter));

    [Theory]
    [InlineData("/api/areas", "Area")]
    [InlineData("/api/areas/{areaId:guid}/export-profiles", "ExportProfile")]
    [InlineData("/api/areas/{areaId:guid}/export-profiles/{profileId:guid}/re-exports", "ReExport")]
    [InlineData("/api/areas/{areaId:guid}/stream-channel", "StreamChannel")]
    [InlineData("/api/areas/{areaId:guid}/stream-channel/tokens", "StreamChannelToken")]
    [InlineData("/api/areas/{areaId:guid}/audit/trail", "AuditTrail")]
    [InlineData("/api/areas/{areaId:guid}/telephony/call-logs/generate", null)]
    [InlineData("/api/areas/{areaId:guid}/export-profiles/{profileId:guid}", null)]
    public void A_creating_route_names_the_kind_it_creates_and_the_same_resource_has_one_kind_everywhere(string route, string? expected) =>
        Assert.Equal(expected, AuditEventNames.CreatedResourceType(route));

    [Fact]
    public void A_log_file_key_follows_the_trail_layout()
    {
        var area = Guid.Parse("6f1f7c2e-2b55-4c41-9a59-0c4b2b6c9a10");
        var key = TrailKeys.LogFile("org", AreaKeys.Of(area), "eu-west-1", new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.FromHours(2)), TrailKeys.RandomSuffix());

        Assert.Matches(new Regex(
            @"^org/AuditLogs/6f1f7c2e-2b55-4c41-9a59-0c4b2b6c9a10/eu-west-1/2026/03/04/6f1f7c2e-2b55-4c41-9a59-0c4b2b6c9a10_Audit_eu-west-1_20260304T0306Z_[A-Z0-9]{16}\.json\.gz$"), key);
        Assert.StartsWith("AuditLogs/platform/local/", TrailKeys.LogFile("", AreaKeys.Of(null), "local", DateTimeOffset.UnixEpoch, "ABCDEFGHIJKLMNOP"));
    }

    [Fact]
    public void Two_random_suffixes_differ() => Assert.NotEqual(TrailKeys.RandomSuffix(), TrailKeys.RandomSuffix());

    [Fact]
    public void A_signed_digest_verifies_with_the_public_key_and_fails_when_anything_signed_changes()
    {
        using var signer = new DigestSigner(null);
        var signing = DigestDocument.SigningString("2026-01-01T01:00:00Z", "bucket", "key", new string('a', 64), null);
        var signature = signer.Sign(signing);

        Assert.True(DigestSigner.Verify(signer.PublicKeyPem, signing, signature));
        Assert.False(DigestSigner.Verify(signer.PublicKeyPem,
            DigestDocument.SigningString("2026-01-01T01:00:00Z", "bucket", "key", new string('b', 64), null), signature));
        Assert.False(DigestSigner.Verify(signer.PublicKeyPem,
            DigestDocument.SigningString("2026-01-01T01:00:00Z", "bucket", "key", new string('a', 64), "previous"), signature));
        using var other = new DigestSigner(null);
        Assert.False(DigestSigner.Verify(other.PublicKeyPem, signing, signature));
    }

    [Fact]
    public void A_configured_private_key_gives_a_stable_fingerprint()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var pem = rsa.ExportPkcs8PrivateKeyPem();

        using var first = new DigestSigner(pem);
        using var second = new DigestSigner(pem);

        Assert.Equal(first.Fingerprint, second.Fingerprint);
        Assert.Equal(first.Fingerprint, DigestSigner.FingerprintOf(first.PublicKeyPem));
    }

    [Fact]
    public void A_continuation_token_round_trips_and_garbage_is_refused()
    {
        var token = new ContinuationToken(new DateTimeOffset(2026, 11, 23, 10, 0, 0, 123, TimeSpan.Zero), 42);

        Assert.True(ContinuationToken.TryDecode(token.Encode(), out var decoded));
        Assert.Equal(token, decoded);
        Assert.False(ContinuationToken.TryDecode("not-a-token", out _));
        Assert.False(ContinuationToken.TryDecode("", out _));
    }

    [Fact]
    public async Task A_log_file_is_a_records_document_and_the_same_records_give_the_same_bytes()
    {
        string[] records = ["""{"eventID":"a"}""", """{"eventID":"b"}"""];

        var content = await LogFileAsync(records);

        Assert.Equal(content, await LogFileAsync(records));
        var parsed = JsonNode.Parse(content)!["Records"]!.AsArray();
        Assert.Equal(["a", "b"], parsed.Select(r => r!["eventID"]!.GetValue<string>()));
        Assert.Equal("""{"Records":[]}""", Encoding.UTF8.GetString(await LogFileAsync([])));
    }

    private static async Task<byte[]> LogFileAsync(string[] records)
    {
        using var output = new MemoryStream();
        await AuditRecords.WriteLogFileAsync(output, records.ToAsyncEnumerable(), CancellationToken.None);
        return output.ToArray();
    }

    [Fact]
    public void A_read_call_has_no_response_elements_in_its_record()
    {
        var record = AuditRecords.ToRecord(new CallLogs.Contracts.AuditEventRecorded
        {
            EventVersion = "1.0",
            EventId = Guid.NewGuid(),
            EventTime = DateTimeOffset.UtcNow,
            EventSource = "profile",
            EventName = "GetExportProfile",
            Region = "local",
            UserIdentity = new CallLogs.Contracts.AuditUserIdentity { Type = "AreaAdmin" },
            ResponseElements = new JsonObject { ["name"] = "x" },
            RequestId = "r",
            ReadOnly = true,
            EventType = "ApiCall",
            Resources = [],
            HttpStatusCode = 200,
        }, "platform");

        Assert.True(record.ContainsKey("responseElements"));
        Assert.Null(record["responseElements"]);
        Assert.True(record["readOnly"]!.GetValue<bool>());
    }

    [Fact]
    public void Error_codes_are_readable_names_of_the_status()
    {
        Assert.Equal("Unauthenticated", AuditErrorCodes.Of(401));
        Assert.Equal("AccessDenied", AuditErrorCodes.Of(403));
        Assert.Equal("NotFound", AuditErrorCodes.Of(404));
        Assert.Equal("Conflict", AuditErrorCodes.Of(409));
        Assert.Equal("UnprocessableEntity", AuditErrorCodes.Of(422));
        Assert.Equal("InternalError", AuditErrorCodes.Of(500));
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z", null, "startTime")]
    [InlineData(null, "0001-01-01T00:00:00Z", "endTime")]
    [InlineData("2026-10-01T00:00:00Z", "2026-11-30T00:00:00Z", "startTime")]
    [InlineData(null, "9999-12-31T23:59:59Z", "endTime")]
    [InlineData("2026-11-30T10:00:00Z", "2026-11-30T09:00:00Z", "startTime")]
    public void A_validation_range_outside_the_bounds_is_refused_naming_the_field(string? start, string? end, string field)
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-11-30T12:00:00Z"));
        var refused = Assert.Throws<FluentValidation.ValidationException>(() =>
            CallLogs.Audit.Apis.AuditApi.ValidationRange(Parse(start), Parse(end), clock));
        Assert.Equal(field, Assert.Single(refused.Errors).PropertyName);
    }

    [Fact]
    public void A_validation_range_defaults_to_the_last_day_and_may_span_a_month()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-11-30T12:00:00Z"));
        Assert.Equal((clock.GetUtcNow().AddDays(-1), clock.GetUtcNow()), CallLogs.Audit.Apis.AuditApi.ValidationRange(null, null, clock));
        var monthAgo = clock.GetUtcNow().AddDays(-31);
        Assert.Equal((monthAgo, clock.GetUtcNow()), CallLogs.Audit.Apis.AuditApi.ValidationRange(monthAgo, null, clock));
    }

    private static DateTimeOffset? Parse(string? value) => value is null ? null : DateTimeOffset.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
}
