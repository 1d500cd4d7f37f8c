using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace CallLogs.Audit.Tests;

/// <summary>
/// No change without its event: a change and its audit event are committed together or not at all. To stop a service
/// exactly between the two, a test trigger in the service's database makes the audit event's INSERT (or the COMMIT)
/// wait for an advisory lock the test holds; the change is then written but not committed, and the test kills the
/// process (or the database connection) right there.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class AtomicityTests(Infrastructure infra, ITestOutputHelper output)
{
    private const long HoldLock = 4242;
    private const string AuditEventType = "CallLogs.Contracts.AuditEventRecorded";

    [Fact]
    public async Task Killing_the_service_between_its_change_and_the_capture_leaves_neither_and_a_later_change_leaves_both()
    {
        var database = await infra.NewDatabaseAsync();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__profiledb"] = database,
            ["ConnectionStrings__messaging"] = await infra.NewRabbitMqVirtualHostAsync(),
            ["ConnectionStrings__storage"] = infra.S3ConnectionString,
            ["Auth__SigningKey"] = infra.SigningKey,
            ["Sealing__Key"] = infra.SealingKey,
            ["OTEL_SERVICE_NAME"] = "profile",
            ["RabbitMq__ManagementUrl"] = infra.RabbitMqManagementUri.ToString(),
        };
        var token = infra.Tokens.Issue(Roles.PlatformAdmin, null, "root-id", "root");

        // Killed while its audit event is being written: the area was inserted in the same transaction.
        await using (var profile = await ServiceProcess.StartAsync("Profile", environment))
        {
            await HoldAuditInsertsAsync(database, "CreateArea", atCommit: false);
            await KillWhileHeldAsync(profile, database, token, "killed-at-capture");
        }

        Assert.False(await BothOrNeitherAsync(database, "killed-at-capture"));

        // Killed while committing: the COMMIT was sent, and PostgreSQL finishes a COMMIT it received; either way the
        // change and its event share its fate.
        await Sql.ExecuteAsync(database, "DROP TRIGGER test_hold_audit ON outbox_messages");
        await using (var profile = await ServiceProcess.StartAsync("Profile", environment))
        {
            await HoldAuditInsertsAsync(database, "CreateArea", atCommit: true);
            await KillWhileHeldAsync(profile, database, token, "killed-at-commit");
        }

        await BothOrNeitherAsync(database, "killed-at-commit");

        // Nothing held: the change and its event are both there.
        await Sql.ExecuteAsync(database, "DROP TRIGGER test_hold_audit ON outbox_messages");
        await using (var profile = await ServiceProcess.StartAsync("Profile", environment))
        {
            using var client = Client(profile.Url, token);
            using var created = await client.PostAsJsonAsync("/api/areas", new { name = "kept" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
            Assert.Equal(1L, await Sql.CountAsync(database, "SELECT count(*) FROM areas WHERE name = 'kept'"));
            Assert.Equal(1L, await Sql.CountAsync(database,
                $"SELECT count(*) FROM outbox_messages WHERE message_type = '{AuditEventType}' AND body::json->>'eventName' = 'CreateArea' AND body::json->'responseElements'->>'id' = '{id}'"));
            Assert.Equal(1L, await Sql.CountAsync(database, $"SELECT count(*) FROM outbox_messages WHERE message_type = 'CallLogs.Contracts.AreaCreated' AND body::json->>'areaId' = '{id}'"));
        }
    }

    [Fact]
    public async Task A_database_connection_lost_between_the_change_and_the_capture_keeps_neither_and_the_caller_is_told()
    {
        await using var sample = await SampleService.StartAsync(infra, await infra.NewRabbitMqVirtualHostAsync());
        var area = Guid.NewGuid();
        var client = sample.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice"));
        await HoldAuditInsertsAsync(sample.Database, "CreateWidget", atCommit: false);

        await using var holder = await Sql.OpenAsync(sample.Database);
        await ExecuteAsync(holder, $"SELECT pg_advisory_lock({HoldLock})");
        var call = AuditFixture.CreateWidgetAsync(client, area, new { name = "lost" });
        var backend = await WaitForHeldBackendAsync(sample.Database);
        Assert.Empty(await sample.WidgetNamesAsync());
        await ExecuteAsync(holder, $"SELECT pg_terminate_backend({backend})");
        await ExecuteAsync(holder, $"SELECT pg_advisory_unlock({HoldLock})");
        using var response = await call;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("The change was not made.", (await response.Content.ReadFromJsonAsync<JsonObject>())!["title"]!.GetValue<string>());
        Assert.Empty(await sample.WidgetNamesAsync());
        // The attempt itself is on record, written on its own, and says that nothing was changed.
        var events = await ReadAuditEventsAsync(sample.Database, "CreateWidget");
        var refused = Assert.Single(events);
        Assert.Equal(503, refused["httpStatusCode"]!.GetValue<int>());
        Assert.True(refused["additionalEventData"]!["changeRolledBack"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_handlers_own_transactions_and_caught_conflicts_keep_their_meaning_inside_the_request_transaction()
    {
        await using var sample = await SampleService.StartAsync(infra, await infra.NewRabbitMqVirtualHostAsync());
        var area = Guid.NewGuid();
        var client = sample.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice"));

        using var rolledBack = await client.PostAsJsonAsync($"/api/areas/{area}/widgets/pair", new { first = "undone", second = "kept-1", keep = false });
        using var conflict = await client.PostAsJsonAsync($"/api/areas/{area}/widgets/pair", new { first = "kept-2", second = "clash", duplicate = true });
        using var failed = await client.PostAsJsonAsync($"/api/areas/{area}/widgets", new { name = "saved-then-failed", failAfterSave = true });

        Assert.Equal(HttpStatusCode.OK, rolledBack.StatusCode);
        Assert.Equal(HttpStatusCode.OK, conflict.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        // A rolled-back transaction of the handler undoes only its own writes; a caught unique violation leaves what was
        // saved before it; a handler that throws after saving keeps what it saved, as it would without the capture.
        Assert.Equal(["kept-1", "kept-2", "saved-then-failed"], await sample.WidgetNamesAsync());
        Assert.Equal(2, (await ReadAuditEventsAsync(sample.Database, "CreateWidgetPair")).Count);
        Assert.Equal(500, Assert.Single(await ReadAuditEventsAsync(sample.Database, "CreateWidget"))["httpStatusCode"]!.GetValue<int>());
    }

    [Fact]
    public async Task Whatever_bytes_a_request_holds_its_call_is_recorded()
    {
        var area = Guid.NewGuid();
        await using var audit = await AuditFixture.StartAuditAsync(infra, await infra.NewBucketAsync());
        await using var sample = await SampleService.StartAsync(infra, audit.Configuration["ConnectionStrings:messaging"]!);
        var token = infra.Tokens.Issue(Roles.AreaAdmin, area, "alice-id", "alice");
        var client = sample.CreateClient(token);
        var widgets = $"/api/areas/{area}/widgets";
        var deep = new string('[', 60) + new string(']', 60);
        string[] bodies =
        [
            """{"name": "nul-in-body", "zz": "\u0000"}""",
            """{"name": "lone-surrogate", "zz": "\ud800"}""",
            """{"name": "repeated-key", "a": 1, "a": 2}""",
            """{"name": "huge-number", "zz": 1e1000000}""",
            $$"""{"name": "deep", "zz": {{deep}}}""",
            """{"name": "nul-in-stored-value\u0000"}""",
            "{",
            $$"""{"name": "big", "zz": "{{new string('x', 300_000)}}"}""",
        ];

        var statuses = new List<HttpStatusCode>();
        foreach (var body in bodies)
        {
            using var response = await client.PostAsync(widgets, new StringContent(body, Encoding.UTF8, "application/json"));
            statuses.Add(response.StatusCode);
        }

        using (var nulInQuery = await client.PostAsync($"{widgets}?x=%00&%00=y", JsonContent.Create(new { name = "nul-in-query" })))
        {
            statuses.Add(nulInQuery.StatusCode);
        }

        output.WriteLine(string.Join(", ", statuses));
        Assert.Contains(HttpStatusCode.Created, statuses);
        Assert.DoesNotContain(statuses, s => s == HttpStatusCode.ServiceUnavailable);
        var events = await AuditFixture.WaitForEventsAsync(audit.CreateClient(token), $"/api/areas/{area}/audit/events?eventName=CreateWidget", bodies.Length + 1);
        Assert.Equal(bodies.Length + 1, events.Count);
        var byQuery = events.Single(e => e!["requestParameters"]?["body"]?["name"]?.GetValue<string>() == "nul-in-query")!;
        Assert.Equal("\uFFFD", byQuery["requestParameters"]!["x"]!.GetValue<string>());
        Assert.Equal("y", byQuery["requestParameters"]!["\uFFFD"]!.GetValue<string>());
        Assert.True(byQuery["additionalEventData"]!["replacedCharacters"]!.GetValue<int>() >= 2);
        Assert.Contains(events, e => e!["requestParameters"]?["body"]?["zz"] is JsonValue v && v.TryGetValue<string>(out var zz) && zz == "\uFFFD");
        Assert.Contains(events, e => e!["requestParameters"]?["body"]?["zz"] is JsonValue v && v.TryGetValue<string>(out var zz) && zz == "1e1000000");
        Assert.Equal(3, events.Count(e => e!["errorCode"]?.GetValue<string>() == "ValidationError"));
        Assert.Contains(events, e => e!["requestParameters"]?["body"]?["a#2"] is not null);
        Assert.Contains(events, e => e!["requestParameters"]?["body"]?["truncated"]?.GetValue<bool>() == true);
        Assert.Contains(events, e => e!["requestParameters"]?["body"]?["invalidJson"]?.GetValue<bool>() == true);
    }

    /// <summary>A trigger that makes the audit event of <paramref name="eventName"/> wait for the test's lock, at its INSERT or at COMMIT.</summary>
    private static async Task HoldAuditInsertsAsync(string database, string eventName, bool atCommit)
    {
        await Sql.ExecuteAsync(database, $"""
            CREATE OR REPLACE FUNCTION test_hold_audit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.message_type = '{AuditEventType}' AND NEW.body::json->>'eventName' = '{eventName}' THEN
                PERFORM pg_advisory_lock_shared({HoldLock});
                PERFORM pg_advisory_unlock_shared({HoldLock});
              END IF;
              RETURN NEW;
            END $$
            """);
        await Sql.ExecuteAsync(database, atCommit
            ? "CREATE CONSTRAINT TRIGGER test_hold_audit AFTER INSERT ON outbox_messages DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_hold_audit()"
            : "CREATE TRIGGER test_hold_audit BEFORE INSERT ON outbox_messages FOR EACH ROW EXECUTE FUNCTION test_hold_audit()");
    }

    private async Task KillWhileHeldAsync(ServiceProcess profile, string database, string token, string name)
    {
        await using var holder = await Sql.OpenAsync(database);
        await ExecuteAsync(holder, $"SELECT pg_advisory_lock({HoldLock})");
        using var client = Client(profile.Url, token);
        var call = client.PostAsJsonAsync("/api/areas", new { name });
        var backend = await WaitForHeldBackendAsync(database);
        // The change is written in the held transaction, not committed: the moment between change and capture.
        Assert.Equal(0L, await Sql.CountAsync(database, $"SELECT count(*) FROM areas WHERE name = '{name}'"));
        await profile.KillAsync();
        await ExecuteAsync(holder, $"SELECT pg_advisory_unlock({HoldLock})");
        await Assert.ThrowsAnyAsync<Exception>(() => call);
        await Eventually.Until(async () => await Sql.CountAsync(database, $"SELECT count(*) FROM pg_stat_activity WHERE pid = {backend}") == 0,
            TimeSpan.FromSeconds(30), "the killed service's database session ended");
        output.WriteLine(profile.Log.Length > 4000 ? profile.Log[^4000..] : profile.Log);
    }

    /// <summary>Asserts that the area, its AreaCreated event and its audit event are all there or none is; returns whether they are.</summary>
    private static async Task<bool> BothOrNeitherAsync(string database, string name)
    {
        var areas = await Sql.CountAsync(database, $"SELECT count(*) FROM areas WHERE name = '{name}'");
        var created = await Sql.CountAsync(database, $"SELECT count(*) FROM outbox_messages WHERE message_type = 'CallLogs.Contracts.AreaCreated' AND body::json->>'name' = '{name}'");
        var audited = await Sql.CountAsync(database,
            $"SELECT count(*) FROM outbox_messages WHERE message_type = '{AuditEventType}' AND body::json->'requestParameters'->'body'->>'name' = '{name}'");
        Assert.True((areas, created, audited) is (0, 0, 0) or (1, 1, 1), $"area {areas}, AreaCreated {created}, audit event {audited}: both or neither");
        return areas == 1;
    }

    /// <summary>The service's session waiting on the test's advisory lock (inside the held trigger).</summary>
    private static async Task<int> WaitForHeldBackendAsync(string database)
    {
        var name = new NpgsqlConnectionStringBuilder(database).Database;
        var pid = 0;
        await Eventually.Until(async () =>
        {
            await using var connection = await Sql.OpenAsync(database);
            await using var command = new NpgsqlCommand(
                "SELECT pid FROM pg_stat_activity WHERE datname = @db AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> pg_backend_pid()", connection);
            command.Parameters.AddWithValue("db", name!);
            pid = await command.ExecuteScalarAsync() is int found ? found : 0;
            return pid != 0;
        }, TimeSpan.FromSeconds(60), "the service waits inside the held audit event");
        return pid;
    }

    private static async Task<List<JsonObject>> ReadAuditEventsAsync(string database, string eventName)
    {
        await using var connection = await Sql.OpenAsync(database);
        await using var command = new NpgsqlCommand(
            "SELECT body FROM outbox_messages WHERE message_type = @type AND body::json->>'eventName' = @name ORDER BY id", connection);
        command.Parameters.AddWithValue("type", AuditEventType);
        command.Parameters.AddWithValue("name", eventName);
        var events = new List<JsonObject>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            events.Add(JsonNode.Parse(reader.GetString(0))!.AsObject());
        }

        return events;
    }

    private static HttpClient Client(Uri url, string token)
    {
        var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(120) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
