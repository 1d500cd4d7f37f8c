using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CallLogs.TestServers;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Telephony.Data;
using CallLogs.Testing;
using Npgsql;

namespace CallLogs.Telephony.Tests;

/// <summary>
/// The upgrade from the versions where telephony lived in ingest: <c>telephony import-ingest</c> moves the CEL rows,
/// users, voicemails, call logs, retention settings and operations out of ingest's database without loss.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class UpgradeFromIngestTests(Infrastructure infra) : IAsyncLifetime
{
    private ServiceFactory<TelephonyDbContext> _service = null!;
    private string _ingestDb = "";
    private static readonly Guid Area = Guid.Parse("a7ea0000-0000-4000-8000-000000000017");
    private static readonly Guid Bob = Guid.Parse("b0b00000-0000-4000-8000-000000000002");
    private static readonly Guid Operation = Guid.Parse("0be7a710-0000-4000-8000-000000000001");

    public async Task InitializeAsync()
    {
        _service = await ServiceFactory<TelephonyDbContext>.StartAsync(infra, "telephony", new Dictionary<string, string?> { ["Telephony:RunScheduledJobs"] = "false" });
        _ingestDb = await infra.NewDatabaseAsync();
        var name = new NpgsqlConnectionStringBuilder(_ingestDb).Database!;
        await using (var admin = new NpgsqlConnection(infra.PostgresAdminConnectionString))
        {
            await admin.OpenAsync();
            await new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin).ExecuteNonQueryAsync();
        }

        await using var ingest = new NpgsqlConnection(_ingestDb);
        await ingest.OpenAsync();
        await new NpgsqlCommand(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Legacy", "ingest-telephony-tables.sql")), ingest).ExecuteNonQueryAsync();
        // what the old ingest stored: two calls (the first with its call log, id 7), a user, a voicemail, a setting, an operation
        var sql = $$"""
            INSERT INTO telephony_call_log (id, area_id, conversation_id, date, date_answer, date_end, source_name, source_exten, requested_exten,
              destination_name, destination_exten, destination_user_uuid, direction, blocked, reached_voicemail, tags, user_uuids, participants, destination_details)
            VALUES (7, '{{Area}}', '1.1', '2026-11-01 10:00:00+00', '2026-11-01 10:00:03+00', '2026-11-01 10:00:11+00', 'Alice', '1001', '1002', 'Bob', '1002',
              '{{Bob}}', 'internal', false, false, '{support}', ARRAY['{{Bob}}'::uuid],
              '[{"user_uuid":"{{Bob}}","line_id":2,"role":"destination","tags":["support"],"answered":true,"requested":true}]',
              '[{"key":"type","value":"user"}]');
            INSERT INTO telephony_cel (area_id, id, event_type, event_time, user_def_type, cid_name, cid_num, cid_ani, cid_rdnis, cid_dnid, exten, context,
              chan_name, app_name, app_data, ama_flags, account_code, peer_account, unique_id, linked_id, user_field, peer, extra, call_log_id)
            SELECT '{{Area}}', n, t, '2026-11-01 10:00:00+00'::timestamptz + n * interval '1 second', '', 'Alice', '1001', '', '', '', '1002', 'default',
              'SIP/alice-01', '', '', 0, '', '', l || '', l, '', '', '', CASE WHEN l = '1.1' THEN 7 END
            FROM (VALUES (1, 'CHAN_START', '1.1'), (2, 'CHAN_END', '1.1'), (3, 'LINKEDID_END', '1.1'), (4, 'CHAN_START', '2.1'), (5, 'CHAN_END', '2.1')) AS r(n, t, l);
            INSERT INTO telephony_user VALUES ('{{Area}}', '{{Bob}}', 'Bob', 'support', '[{"id":2,"name":"bob","extensions":[{"exten":"1002","context":"default"}]}]');
            INSERT INTO telephony_voicemail VALUES ('{{Area}}', 12, 'Bob', '1002', 'default');
            INSERT INTO telephony_area_settings VALUES ('{{Area}}', 90);
            INSERT INTO telephony_operations VALUES ('{{Operation}}', '{{Area}}', 'telephony-generate', 'admin', now(), now(), now(), 'succeeded', 1, 1, 'calls', 'Generated 1 call logs');
            """;
        await new NpgsqlCommand(sql, ingest).ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<(int ExitCode, string Output)> RunAsync(params string[] args) =>
        ManagedProcess.RunAsync("dotnet", [RepositoryPaths.ServiceAssembly("Telephony"), "telephony", .. args], new Dictionary<string, string?>
        {
            ["ConnectionStrings__telephonydb"] = _service.Configuration["ConnectionStrings:telephonydb"],
            ["ConnectionStrings__messaging"] = _service.Configuration["ConnectionStrings:messaging"],
            ["ConnectionStrings__ingestdb"] = _ingestDb,
            ["Auth__SigningKey"] = infra.SigningKey,
            ["DOTNET_ENVIRONMENT"] = "Testing",
            ["Logging__LogLevel__Default"] = "Warning",
        }, TimeSpan.FromMinutes(2));

    [Fact]
    public async Task The_import_moves_every_row_keeps_the_links_and_leaves_ingest_without_telephony_tables()
    {
        // the new service made a call log meanwhile: its id 1 must not clash with the old call log's id 7
        using var pbx = _service.CreateClient(infra.Tokens.Issue(Roles.Ingest, Area, "pbx"));
        var t = DateTimeOffset.UtcNow.AddHours(-1).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff");
        var fresh = new JsonArray(new[] { ("CHAN_START", 100L), ("CHAN_END", 101L), ("LINKEDID_END", 102L) }.Select(r => (JsonNode)new JsonObject
        {
            ["id"] = r.Item2, ["eventtype"] = r.Item1, ["eventtime"] = t, ["channame"] = "SIP/carol-01", ["uniqueid"] = "9.1", ["linkedid"] = "9.1",
            ["cid_name"] = "Carol", ["cid_num"] = "1003", ["exten"] = "1002", ["context"] = "default",
        }).ToArray());
        (await pbx.PostAsJsonAsync($"/api/areas/{Area}/telephony/cel", fresh)).EnsureSuccessStatusCode();

        var (code, output) = await RunAsync("import-ingest");
        Assert.True(code == 0, output);
        Assert.Contains("5 CEL rows, 1 call logs, 1 users, 1 voicemails, 1 retention settings, 1 operations", output);

        using var admin = _service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, Area, "admin"));
        var page = (await admin.GetFromJsonAsync<JsonObject>($"/api/areas/{Area}/telephony/call-logs?order=start&direction=asc"))!;
        Assert.Equal(["1.1", "9.1"], page["items"]!.AsArray().Select(i => (string)i!["conversationId"]!));
        var moved = page["items"]![0]!;
        Assert.Equal(Bob.ToString(), (string?)moved["requestedUserUuid"]);
        Assert.Equal(Bob.ToString(), (string?)moved["participants"]![0]!["userUuid"]);
        Assert.Equal(8.0, (double)moved["duration"]!);
        Assert.Equal(Bob.ToString(), (string?)(await admin.GetFromJsonAsync<JsonArray>($"/api/areas/{Area}/telephony/users"))![0]!["uuid"]);
        Assert.Equal(12, (int)(await admin.GetFromJsonAsync<JsonArray>($"/api/areas/{Area}/telephony/voicemails"))![0]!["id"]!);
        Assert.Equal(90, (int)(await admin.GetFromJsonAsync<JsonObject>($"/api/areas/{Area}/telephony/retention"))!["days"]!);
        Assert.Contains((await admin.GetFromJsonAsync<JsonArray>($"/api/areas/{Area}/telephony/operations"))!, o => (Guid)o!["id"]! == Operation);

        // the old call's rows point at its moved call log; the unfinished call's rows are unprocessed and complete later
        await using (var telephony = new NpgsqlConnection(_service.Configuration["ConnectionStrings:telephonydb"]))
        {
            await telephony.OpenAsync();
            var links = await new NpgsqlCommand($"SELECT count(*) FROM cel c JOIN call_log l ON l.id = c.call_log_id WHERE c.area_id = '{Area}' AND l.conversation_id = '1.1'", telephony)
                .ExecuteScalarAsync();
            Assert.Equal(3L, links);
        }

        (await pbx.PostAsJsonAsync($"/api/areas/{Area}/telephony/cel", new JsonArray(new JsonObject
        {
            ["id"] = 6, ["eventtype"] = "LINKEDID_END", ["eventtime"] = "2026-11-01 10:00:06", ["channame"] = "SIP/alice-01", ["uniqueid"] = "2.1",
            ["linkedid"] = "2.1", ["cid_name"] = "Alice", ["cid_num"] = "1001",
        }))).EnsureSuccessStatusCode();
        Assert.Equal(3, (int)(await admin.GetFromJsonAsync<JsonObject>($"/api/areas/{Area}/telephony/call-logs"))!["total"]!);

        // ingest's database has no telephony table left; a second run finds nothing to move
        await using (var ingest = new NpgsqlConnection(_ingestDb))
        {
            await ingest.OpenAsync();
            Assert.Equal(0L, await new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'telephony_%' OR tablename = '__ef_migrations_telephony'", ingest).ExecuteScalarAsync());
        }

        (code, output) = await RunAsync("import-ingest");
        Assert.True(code == 0, output);
        Assert.Contains("nothing to move", output);
    }
}
