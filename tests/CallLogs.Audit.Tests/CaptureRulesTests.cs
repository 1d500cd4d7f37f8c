using System.Text;
using System.Text.Json.Nodes;
using CallLogs.Audit.Domain;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Audit;
using CallLogs.ServiceDefaults.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CallLogs.Audit.Tests;

/// <summary>The rules of the capture that need no I/O: cleaning hostile JSON, redaction by value, names, limits.</summary>
public sealed class CaptureRulesTests
{
    [Fact]
    public void Nul_and_unpaired_surrogates_become_replacement_characters_and_are_counted()
    {
        var json = new AuditJson();

        var node = json.Parse("""{"a\u0000b": "x\u0000y", "lone": "\ud800z", "fine": "é😀"}"""u8);

        Assert.Equal("x\uFFFDy", node!["a\uFFFDb"]!.GetValue<string>());
        Assert.Equal("\uFFFDz", node["lone"]!.GetValue<string>());
        Assert.Equal("é😀", node["fine"]!.GetValue<string>());
        Assert.Equal(3, json.ReplacedCharacters);
        Assert.DoesNotContain("\\u0000", node.ToJsonString());
    }

    [Fact]
    public void Repeated_keys_are_all_kept_with_a_suffix()
    {
        var node = new AuditJson().Parse("""{"a": 1, "a": 2, "a": 3}"""u8)!.AsObject();

        Assert.Equal([1, 2, 3], new[] { "a", "a#2", "a#3" }.Select(k => node[k]!.GetValue<decimal>()).Select(d => (int)d));
    }

    [Fact]
    public void Numbers_a_database_cannot_hold_are_kept_as_their_text()
    {
        var node = new AuditJson().Parse("""{"huge": 1e1000000, "long": 123456789012345678901234567890123456789012345678901234567890123456789, "plain": 42.5}"""u8)!;

        Assert.Equal("1e1000000", node["huge"]!.GetValue<string>());
        Assert.StartsWith("1234567890", node["long"]!.GetValue<string>());
        Assert.Equal(42.5m, node["plain"]!.GetValue<decimal>());
    }

    [Fact]
    public void Deep_nesting_is_summarised_below_the_limit()
    {
        var deep = new string('[', 200) + new string(']', 200);

        var node = new AuditJson().Parse(Encoding.UTF8.GetBytes(deep))!;

        var depth = 0;
        JsonNode? current = node;
        while (current is JsonArray { Count: 1 } array)
        {
            current = array[0];
            depth++;
        }

        Assert.Equal(AuditJson.MaxDepth, depth);
        Assert.True(current!["nestedTooDeep"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{} {}")]
    [InlineData("not json")]
    public void What_is_not_one_json_value_is_not_parsed(string text) => Assert.Null(new AuditJson().Parse(Encoding.UTF8.GetBytes(text)));

    [Theory]
    [InlineData("ws://h/ecls/subscribe/a/c?key=S3cretKeyValue123", "ws://h/ecls/subscribe/a/c?key=***REDACTED***")]
    [InlineData("https://h/x?a=1&token=abc12345&b=2", "https://h/x?a=1&token=***REDACTED***&b=2")]
    [InlineData("Host=db;Username=app;Password=hunter2;Port=5432", "Host=db;Username=app;Password=***REDACTED***;Port=5432")]
    [InlineData("Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer ***REDACTED***")]
    [InlineData("see https://h/x?nextToken=page2&apiKey=k-123", "see https://h/x?nextToken=page2&apiKey=***REDACTED***")]
    [InlineData("plain words stay as they are", "plain words stay as they are")]
    public void Secrets_inside_text_are_redacted_by_value(string input, string expected) =>
        Assert.Equal(expected, AuditRedaction.RedactText(input));

    [Fact]
    public void Tokens_and_random_secrets_are_redacted_wherever_they_are_while_ids_and_hashes_stay()
    {
        var jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl";
        var streamSecret = "Qm9vbXRvd24tU2VjcmV0LTQyX0FCQ0RFRkdISUpLTE1OT1A";
        var guid = Guid.NewGuid().ToString("N");
        var sha = new string('a', 32) + new string('0', 32);

        var text = AuditRedaction.RedactText($"t={jwt} s {streamSecret} id {guid} sha {sha}");

        Assert.DoesNotContain(jwt, text);
        Assert.DoesNotContain(streamSecret, text);
        Assert.Contains(guid, text);
        Assert.Contains(sha, text);
    }

    [Fact]
    public void Random_secrets_with_few_digits_are_redacted_too_while_long_names_stay()
    {
        // A stream token secret that reached the trail: one digit, so "three digits" did not take it for random.
        const string fewDigits = "Nb9GpnKAZBEb-asUTOTDjVhZluvfnewvjYogcCqfyVc";
        const string name = "CreateExportProfileWithEncryptionSettingsAndMasking";
        var issued = Enumerable.Range(0, 200).Select(_ => OpaqueToken.NewSecret()).ToList();

        var text = AuditRedaction.RedactText($"pasted {fewDigits} by {name}: {string.Join(' ', issued)}");

        Assert.DoesNotContain(fewDigits, text);
        Assert.Contains(name, text);
        Assert.All(issued, secret => Assert.DoesNotContain(secret, text));
    }

    [Fact]
    public void A_list_of_token_descriptions_keeps_each_id_and_loses_each_secret()
    {
        var response = JsonNode.Parse("""
            {"id": "c1", "tokens": [{"id": "t1", "status": "enabled", "secret": "s-1", "subscribeUrl": "wss://h/ecls/subscribe/a/c1?key=s-1-value"}],
             "filters": [{"field": "apiKey", "operator": "is", "values": ["customer-key"]}, {"field": "responseCode", "operator": "is", "values": ["500"]}],
             "credentials": {"user": "u", "pass": "p"}}
            """)!;

        var redacted = AuditRedaction.Redact(response)!.ToJsonString();

        Assert.Contains("\"id\":\"t1\"", redacted);
        Assert.Contains("\"status\":\"enabled\"", redacted);
        Assert.Contains("\"500\"", redacted);
        foreach (var secret in new[] { "s-1", "customer-key", "\"p\"", "\"u\"" })
        {
            Assert.DoesNotContain(secret, redacted);
        }
    }

    [Theory]
    [InlineData("password", true)]
    [InlineData("iamRoleExternalId", true)]
    [InlineData("api_key", true)]
    [InlineData("x-amz-security-token", true)]
    [InlineData("tokenId", false)]
    [InlineData("accessKeyId", false)]
    [InlineData("nextToken", false)]
    [InlineData("cmkKeyArn", false)]
    [InlineData("publicKeyPem", false)]
    [InlineData("name", false)]
    public void Key_names_say_which_values_are_secrets(string key, bool sensitive) => Assert.Equal(sensitive, AuditRedaction.IsSensitiveKey(key));

    [Theory]
    [InlineData("my-bucket", null)]
    [InlineData("my-bucket/calllogs/audit", null)]
    [InlineData("s3://my-bucket", "URL schemes")]
    [InlineData("My_Bucket", "lowercase")]
    [InlineData("my-bucket//x", "empty segments")]
    [InlineData("my-bucket/../x", "'..'")]
    [InlineData("my-bucket/a\u0000b", "NUL character")]
    [InlineData("", "S3 bucket is required")]
    public void A_destination_is_a_bucket_and_an_optional_path(string value, string? error)
    {
        var reason = S3DestinationRules.BucketPathError(value);
        if (error is null)
        {
            Assert.Null(reason);
        }
        else
        {
            Assert.Contains(error, reason);
        }
    }

    [Fact]
    public void Encryption_settings_follow_the_aws_forms()
    {
        Assert.Null(S3DestinationRules.RoleArnError("arn:aws:iam::123456789012:role/Audit"));
        Assert.NotNull(S3DestinationRules.RoleArnError("arn:aws:iam::1234:role/Audit"));
        Assert.Null(S3DestinationRules.KmsKeyArnError("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"));
        Assert.NotNull(S3DestinationRules.KmsKeyArnError("alias/mine"));
        Assert.Null(S3DestinationRules.ExternalIdError("ext-id_1"));
        Assert.NotNull(S3DestinationRules.ExternalIdError("x"));
        Assert.NotNull(S3DestinationRules.ExternalIdError(null));
    }

    [Fact]
    public void A_resource_has_one_type_and_arn_whichever_service_names_it()
    {
        Assert.Equal("CallLogs::Profile::ExportProfile", AuditArns.ResourceType("ExportProfile", "export"));
        Assert.Equal("CallLogs::Profile::ExportProfile", AuditArns.ResourceType(AuditArns.Kind("profile"), "profile"));
        Assert.Equal("CallLogs::Profile::ExportProfile", AuditArns.ResourceType(AuditArns.Kind("export-profile"), "profile"));
        Assert.Equal("arn:calllogs:stream:eu-west-1:a1:stream-channel-token/t1", AuditArns.Resource("StreamChannelToken", "stream", "eu-west-1", "a1", "t1"));
        Assert.Equal("CallLogs::Sample::Widget", AuditArns.ResourceType("Widget", "sample"));
    }

    [Fact]
    public void Refused_calls_from_one_source_are_recorded_up_to_the_limit_then_counted()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var limiter = new UntrustedCallLimiter(Options.Create(new AuditCaptureOptions { UntrustedEventsPerSourcePerMinute = 3 }), clock);

        var recorded = Enumerable.Range(0, 10).Count(_ => limiter.TryRecord("10.0.0.1", out long _));
        Assert.True(limiter.TryRecord("10.0.0.2", out var other));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(limiter.TryRecord("10.0.0.1", out var suppressed));

        Assert.Equal(3, recorded);
        Assert.Equal(0L, other);
        Assert.Equal(7L, suppressed);
    }

    [Fact]
    public async Task A_csv_cell_that_a_spreadsheet_would_run_is_written_as_text()
    {
        var record = new JsonObject
        {
            ["eventID"] = "e1",
            ["eventName"] = "CreateWidget",
            ["userAgent"] = "=HYPERLINK(\"http://evil\")",
            ["userIdentity"] = new JsonObject { ["type"] = "AssumedRole", ["userName"] = "@alice" },
            ["additionalEventData"] = new JsonObject { ["httpStatusCode"] = 201 },
        }.ToJsonString();

        var row = EventCsv.Row(record).ToList();
        var line = new StringBuilder();
        CallLogs.Contracts.Csv.AppendRow(line, row);

        Assert.Equal("201", row[Array.IndexOf(EventCsv.Columns, "httpStatusCode")]);
        Assert.Equal(EventCsv.Columns.Length, row.Count);
        using var output = new MemoryStream();
        await EventCsv.WriteAsync(output, new[] { record }.ToAsyncEnumerable(), CancellationToken.None);
        var csv = Encoding.UTF8.GetString(output.ToArray());
        Assert.Contains("'=HYPERLINK", csv);
        Assert.Contains("'@alice", csv);
    }
}
