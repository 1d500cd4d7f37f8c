using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CallLogs.Profile.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Stream.Data;
using CallLogs.Testing;

namespace CallLogs.Audit.Tests;

/// <summary>
/// One busy day of an area, run once through the real services (profile, stream, audit and the sample service), then
/// looked at twice: no secret the system issues or accepts is anywhere in the trail (lookups, downloads, every delivered
/// S3 object of the platform's and the area's trail), while the ids that are not secrets are; and every delivered record
/// has CloudTrail's documented fields with CloudTrail's types, as the Athena table for CloudTrail logs reads them.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed partial class SecretsAndShapeTests(Infrastructure infra)
{
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static Day? _day;

    [Fact]
    public async Task No_secret_the_system_issues_or_accepts_reaches_the_lookup_the_download_or_any_delivered_file_while_ids_do()
    {
        var day = await DayAsync();

        Assert.NotEmpty(day.Secrets);
        foreach (var (kind, secret) in day.Secrets)
        {
            Assert.False(day.Everything.Contains(secret, StringComparison.Ordinal), $"{kind} ({secret}) is in the trail");
        }

        foreach (var (kind, id) in day.Ids)
        {
            Assert.True(day.Everything.Contains(id, StringComparison.Ordinal), $"{kind} ({id}) is not in the trail");
        }

        Assert.Contains(CallLogs.ServiceDefaults.Audit.AuditRedaction.Marker, day.Everything);
    }

    [Fact]
    public async Task Every_delivered_record_has_CloudTrails_documented_fields_and_types()
    {
        var day = await DayAsync();

        Assert.True(day.Records.Count >= 10, $"{day.Records.Count} records delivered");
        Assert.Contains(day.Records, r => r["errorCode"] is not null);
        Assert.Contains(day.Records, r => r["resources"] is JsonArray { Count: > 0 });
        foreach (var record in day.Records)
        {
            var problems = CloudTrailRecord.Problems(record).ToList();
            Assert.True(problems.Count == 0, $"{string.Join("; ", problems)} in {record.ToJsonString()}");
        }
    }

    private async Task<Day> DayAsync()
    {
        await Once.WaitAsync();
        try
        {
            return _day ??= await RunDayAsync();
        }
        finally
        {
            Once.Release();
        }
    }

    private async Task<Day> RunDayAsync()
    {
        var platformBucket = await infra.NewBucketAsync();
        var areaBucket = await infra.NewBucketAsync();
        await using var sts = FakeSts.Start();
        await using var audit = await AuditFixture.StartAuditAsync(infra, platformBucket, overrides: new Dictionary<string, string?> { ["Audit:StsEndpoint"] = sts.Url });
        var messaging = audit.Configuration["ConnectionStrings:messaging"]!;
        var shared = new Dictionary<string, string?> { ["ConnectionStrings:messaging"] = messaging, ["Outbox:PollInterval"] = "00:00:00.200" };
        await using var profile = await ServiceFactory<ProfileDbContext>.StartAsync(infra, "profile", shared);
        await using var stream = await ServiceFactory<StreamDbContext>.StartAsync(infra, "stream", shared);
        await using var sample = await SampleService.StartAsync(infra, messaging);
        var secrets = new Dictionary<string, string>();
        var ids = new Dictionary<string, string>();

        var platformToken = infra.Tokens.Issue(Roles.PlatformAdmin, null, "root-id", "root");
        using var platform = profile.CreateClient(platformToken);
        var area = (await (await platform.PostAsJsonAsync("/api/areas", new { name = $"Secrets {Guid.NewGuid():N}" })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");
        var otherJwt = infra.Tokens.Issue(Roles.AreaViewer, area, "victor-id", "victor");
        secrets["area admin's bearer token"] = token;
        secrets["another bearer token"] = otherJwt;
        secrets["platform admin's bearer token"] = platformToken;
        ids["area"] = area.ToString();

        // The area's own trail, written with SSE-KMS under a role assumed with an external id.
        secrets["trail external id"] = "ext-TRAIL-SECRET-1";
        using var trail = await audit.CreateClient(token).PostAsJsonAsync($"/api/areas/{area}/audit/trail", new
        {
            s3Bucket = $"{areaBucket}/org",
            encryption = new
            {
                enabled = true,
                iamRoleArn = "arn:aws:iam::123456789012:role/calllogs-audit",
                cmkKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                iamRoleExternalId = secrets["trail external id"],
            },
        });
        Assert.Equal(HttpStatusCode.Created, trail.StatusCode);

        // An export profile with its external id and a filter on a customer's API key.
        secrets["export profile external id"] = "ext-PROFILE-SECRET-2";
        secrets["customer API key in a filter"] = "apikey-SECRET-3";
        using var exportProfile = await profile.CreateClient(token).PostAsJsonAsync($"/api/areas/{area}/export-profiles", new
        {
            name = "Secret export",
            s3Bucket = "secret-bucket",
            encryption = new
            {
                enabled = true,
                iamRoleArn = "arn:aws:iam::123456789012:role/Export",
                cmkKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                iamRoleExternalId = secrets["export profile external id"],
            },
            filters = new[] { new { field = "apiKey", @operator = "is", value = secrets["customer API key in a filter"] } },
            collectFrom = DateTimeOffset.UtcNow.AddHours(2),
        });
        Assert.Equal(HttpStatusCode.Created, exportProfile.StatusCode);
        ids["export profile"] = (await exportProfile.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        // A stream channel with its first token, then a second token: secrets and subscribe URLs are shown once.
        using var streamAdmin = stream.CreateClient(token);
        using var channel = await streamAdmin.PostAsync($"/api/areas/{area}/stream-channel", null);
        Assert.Equal(HttpStatusCode.Created, channel.StatusCode);
        var channelBody = (await channel.Content.ReadFromJsonAsync<JsonObject>())!;
        var firstToken = channelBody["tokens"]![0]!;
        ids["stream channel"] = channelBody["id"]!.GetValue<string>();
        ids["first stream token"] = firstToken["id"]!.GetValue<string>();
        secrets["first stream token secret"] = firstToken["secret"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await streamAdmin.PostAsync($"/api/areas/{area}/stream-channel/tokens/{ids["first stream token"]}/disable", null)).StatusCode);
        using var second = await streamAdmin.PostAsync($"/api/areas/{area}/stream-channel/tokens", null);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        var secondToken = (await second.Content.ReadFromJsonAsync<JsonObject>())!;
        ids["second stream token"] = secondToken["id"]!.GetValue<string>();
        secrets["second stream token secret"] = secondToken["secret"]!.GetValue<string>();
        Assert.Contains("?key=", secondToken["subscribeUrl"]!.GetValue<string>());

        // Secrets callers put where nothing expects them: bodies, query strings, pasted text.
        secrets["password"] = "pw-SECRET-4";
        secrets["client secret"] = "cs-SECRET-5";
        secrets["token in a pasted URL"] = "tok-SECRET-6";
        secrets["key in a pasted URL"] = "key-SECRET-7";
        secrets["password in a connection string"] = "pw-SECRET-8";
        secrets["API key in a query"] = "apikey-SECRET-9";
        secrets["key in a query"] = "q-SECRET-10";
        secrets["password of a refused call"] = "pw-SECRET-11";
        var admin = sample.CreateClient(token);
        using var created = await admin.PostAsJsonAsync($"/api/areas/{area}/widgets?access_token={token}&apiKey={secrets["API key in a query"]}", new
        {
            name = "secretive",
            password = secrets["password"],
            clientSecret = secrets["client secret"],
            note = $"Authorization: Bearer {otherJwt}",
            pasted = secrets["second stream token secret"],
            link = $"https://example.com/p?token={secrets["token in a pasted URL"]}&key={secrets["key in a pasted URL"]}",
            connection = $"Host=db;Username=app;Password={secrets["password in a connection string"]};Port=5432",
            innocent = otherJwt,
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        ids["widget"] = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/areas/{area}/widgets/{ids["widget"]}?key={secrets["key in a query"]}&api_token={token}")).StatusCode);
        using var refused = await admin.PostAsync($"/api/areas/{area}/widgets",
            new StringContent($$"""{"name": 5, "password": "{{secrets["password of a refused call"]}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

        var lookup = audit.CreateClient(token);
        foreach (var name in new[] { "CreateTrail", "CreateExportProfile", "CreateStreamChannel", "DisableStreamToken", "CreateStreamToken", "GetWidget" })
        {
            await AuditFixture.WaitForEventsAsync(lookup, $"/api/areas/{area}/audit/events?eventName={name}", 1);
        }

        await AuditFixture.WaitForEventsAsync(lookup, $"/api/areas/{area}/audit/events?eventName=CreateWidget", 2);
        var writer = audit.Writer();
        await writer.DeliverAsync(CancellationToken.None);
        await writer.WriteDigestsAsync(DateTimeOffset.UtcNow.AddHours(2), CancellationToken.None);

        var everything = new StringBuilder();
        everything.AppendLine(await AllPagesAsync(lookup, $"/api/areas/{area}/audit/events"));
        everything.AppendLine(await AllPagesAsync(audit.CreateClient(platformToken), "/api/audit/events"));
        everything.AppendLine(await lookup.GetStringAsync($"/api/areas/{area}/audit/events/download?format=json"));
        everything.AppendLine(await lookup.GetStringAsync($"/api/areas/{area}/audit/events/download?format=csv"));
        var s3 = infra.CreateS3Client();
        var platformFiles = await AuditFixture.ReadObjectsAsync(s3, platformBucket);
        var areaFiles = await AuditFixture.ReadObjectsAsync(s3, areaBucket);
        Assert.NotEmpty(areaFiles);
        foreach (var content in platformFiles.Values.Concat(areaFiles.Values))
        {
            everything.AppendLine(content);
        }

        var logFiles = platformFiles.Concat(areaFiles).Where(f => !f.Key.Contains("/Audit-Digest/", StringComparison.Ordinal)).Select(f => f.Value);
        var records = AuditFixture.Records(logFiles).Select(r => r.AsObject()).ToList();
        return new Day(secrets, ids, everything.ToString(), records);
    }

    private static async Task<string> AllPagesAsync(HttpClient client, string path)
    {
        var all = new StringBuilder();
        string? next = null;
        do
        {
            var page = (await client.GetFromJsonAsync<JsonObject>(next is null ? path : $"{path}?nextToken={Uri.EscapeDataString(next)}"))!;
            all.AppendLine(page.ToJsonString());
            next = page["nextToken"]?.GetValue<string>();
        }
        while (next is not null);

        return all.ToString();
    }

    private sealed record Day(IReadOnlyDictionary<string, string> Secrets, IReadOnlyDictionary<string, string> Ids, string Everything, List<JsonObject> Records);

    /// <summary>
    /// CloudTrail's record as its documentation describes it (record contents, the userIdentity element) and as Athena's
    /// table for CloudTrail logs reads it: which fields exist, which are always there, and the JSON type of each.
    /// </summary>
    private static partial class CloudTrailRecord
    {
        private enum Kind { String, Boolean, Object, ObjectOrNull, Array }

        private static readonly Dictionary<string, Kind> Fields = new()
        {
            ["eventVersion"] = Kind.String, ["userIdentity"] = Kind.Object, ["eventTime"] = Kind.String, ["eventSource"] = Kind.String,
            ["eventName"] = Kind.String, ["awsRegion"] = Kind.String, ["sourceIPAddress"] = Kind.String, ["userAgent"] = Kind.String,
            ["errorCode"] = Kind.String, ["errorMessage"] = Kind.String, ["requestParameters"] = Kind.ObjectOrNull,
            ["responseElements"] = Kind.ObjectOrNull, ["additionalEventData"] = Kind.Object, ["requestID"] = Kind.String,
            ["eventID"] = Kind.String, ["readOnly"] = Kind.Boolean, ["resources"] = Kind.Array, ["eventType"] = Kind.String,
            ["apiVersion"] = Kind.String, ["managementEvent"] = Kind.Boolean, ["recipientAccountId"] = Kind.String,
            ["serviceEventDetails"] = Kind.Object, ["sharedEventID"] = Kind.String, ["vpcEndpointId"] = Kind.String,
            ["vpcEndpointAccountId"] = Kind.String, ["eventCategory"] = Kind.String, ["addendum"] = Kind.Object,
            ["sessionCredentialFromConsole"] = Kind.String, ["edgeDeviceDetails"] = Kind.Object, ["tlsDetails"] = Kind.Object,
        };

        private static readonly string[] Always =
        [
            "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
            "requestParameters", "responseElements", "requestID", "eventID", "eventType", "eventCategory", "readOnly", "managementEvent",
            "recipientAccountId",
        ];

        private static readonly HashSet<string> UserIdentityFields =
            ["type", "principalId", "arn", "accountId", "invokedBy", "accessKeyId", "userName", "onBehalfOf", "sessionContext", "credentialId", "identityProvider", "inScopeOf"];

        private static readonly HashSet<string> SessionContextFields = ["attributes", "sessionIssuer", "ec2RoleDelivery", "webIdFederationData", "sourceIdentity", "assumedRoot"];

        private static readonly HashSet<string> SessionIssuerFields = ["type", "principalId", "arn", "accountId", "userName"];

        private static readonly HashSet<string> AttributesFields = ["mfaAuthenticated", "creationDate"];

        private static readonly HashSet<string> ResourceFields = ["ARN", "accountId", "type"];

        private static readonly HashSet<string> TlsFields = ["tlsVersion", "cipherSuite", "clientProvidedHostHeader"];

        public static IEnumerable<string> Problems(JsonObject record)
        {
            foreach (var field in Always.Where(f => !record.ContainsKey(f)))
            {
                yield return $"{field} is missing";
            }

            foreach (var (name, value) in record)
            {
                if (!Fields.TryGetValue(name, out var kind))
                {
                    yield return $"{name} is not a CloudTrail field (extras belong in additionalEventData)";
                }
                else if (!Is(value, kind))
                {
                    yield return $"{name} is not {kind}";
                }
            }

            if (record["eventTime"] is JsonValue time && !EventTime().IsMatch(time.GetValue<string>()))
            {
                yield return "eventTime is not yyyy-MM-ddTHH:mm:ssZ";
            }

            if (record["eventID"] is JsonValue id && !Guid.TryParseExact(id.GetValue<string>(), "D", out _))
            {
                yield return "eventID is not a GUID";
            }

            if (record["eventVersion"] is JsonValue version && !version.GetValue<string>().StartsWith("1.", StringComparison.Ordinal))
            {
                yield return "eventVersion is not 1.x";
            }

            if (record["eventCategory"] is JsonValue category && category.GetValue<string>() != "Management")
            {
                yield return "eventCategory is not Management";
            }

            if (record["userIdentity"] is JsonObject identity)
            {
                foreach (var problem in Members("userIdentity", identity, UserIdentityFields))
                {
                    yield return problem;
                }

                if (identity["sessionContext"] is JsonObject session)
                {
                    foreach (var problem in Members("sessionContext", session, SessionContextFields)
                        .Concat(session["sessionIssuer"] is JsonObject issuer ? Members("sessionIssuer", issuer, SessionIssuerFields) : [])
                        .Concat(session["attributes"] is JsonObject attributes ? Members("attributes", attributes, AttributesFields) : []))
                    {
                        yield return problem;
                    }
                }
            }

            foreach (var resource in record["resources"] as JsonArray ?? [])
            {
                if (resource is not JsonObject r || r.Count != 3 || !ResourceFields.All(r.ContainsKey) || r.Any(p => p.Value is not JsonValue))
                {
                    yield return "a resource is not {ARN, accountId, type}";
                }
                else if (!r["ARN"]!.GetValue<string>().StartsWith("arn:", StringComparison.Ordinal))
                {
                    yield return "a resource ARN does not start with arn:";
                }
            }

            if (record["tlsDetails"] is JsonObject tls)
            {
                foreach (var problem in Members("tlsDetails", tls, TlsFields))
                {
                    yield return problem;
                }
            }
        }

        private static IEnumerable<string> Members(string owner, JsonObject value, HashSet<string> allowed) =>
            value.Where(p => !allowed.Contains(p.Key)).Select(p => $"{owner}.{p.Key} is not a CloudTrail field")
                .Concat(value.Where(p => allowed.Contains(p.Key) && p.Value is JsonValue v && v.GetValueKind() != JsonValueKind.String)
                    .Select(p => $"{owner}.{p.Key} is not a string"));

        private static bool Is(JsonNode? value, Kind kind) => kind switch
        {
            Kind.String => value is JsonValue v && v.GetValueKind() == JsonValueKind.String,
            Kind.Boolean => value is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
            Kind.Object => value is JsonObject,
            Kind.ObjectOrNull => value is null or JsonObject,
            Kind.Array => value is JsonArray,
            _ => false,
        };

        [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")]
        private static partial Regex EventTime();
    }
}
