using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallLogs.Contracts;
using CallLogs.Telephony.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.Telephony.Tests;

[Collection(InfrastructureCollection.Name)]
public sealed class TelephonyApiTests(Infrastructure infra) : IAsyncLifetime
{
    private ServiceFactory<TelephonyDbContext> _service = null!;
    private EventCollector _events = null!;

    public async Task InitializeAsync()
    {
        _service = await ServiceFactory<TelephonyDbContext>.StartAsync(infra, "telephony",
            new Dictionary<string, string?> { ["Telephony:RunScheduledJobs"] = "false" });
        _events = await EventCollector.StartAsync(_service.Configuration["ConnectionStrings:messaging"]!);
    }

    public async Task DisposeAsync()
    {
        await _events.DisposeAsync();
        await _service.DisposeAsync();
    }

    private HttpClient Client(string role, Guid area, string subject = "tester") => _service.CreateClient(infra.Tokens.Issue(role, area, subject));

    private static async Task<JsonNode> Read(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {text}");
        return JsonNode.Parse(text.Length == 0 ? "null" : text) ?? new JsonObject();
    }

    private static JsonObject UserBody(JsonObject user, IEnumerable<JsonObject> lines) => new()
    {
        ["userfield"] = user["userfield"]?.DeepClone(),
        ["lines"] = new JsonArray(lines
            .Where(l => l["users"]!.AsArray().Any(u => (string?)u!["uuid"] == (string?)user["uuid"]))
            .Select(l => (JsonNode)new JsonObject { ["id"] = l["id"]!.DeepClone(), ["name"] = l["name"]!.DeepClone(), ["extensions"] = l["extensions"]!.DeepClone() })
            .ToArray()),
    };

    [Fact]
    public Task Every_scenario_through_the_api_gives_its_expected_call_log() =>
        AssertEveryScenarioAsync(rowsPerRequest: int.MaxValue, inEventOrder: false);

    /// <summary>
    /// A PBX that sends each row as it writes it (in event order, its ids in that order, one row per request): every call
    /// is made from the rows the earlier requests stored and the last one, so the lookup of a call's stored rows (by
    /// linkedid, and by channel for transfers and pickups) is what each scenario's call log depends on here.
    /// </summary>
    [Fact]
    public Task Every_scenario_sent_one_row_per_request_gives_its_expected_call_log() =>
        AssertEveryScenarioAsync(rowsPerRequest: 1, inEventOrder: true);

    private async Task AssertEveryScenarioAsync(int rowsPerRequest, bool inEventOrder)
    {
        var failures = new List<string>();
        foreach (var name in WazoScenario.All().Select(a => (string)a[0]))
        {
            failures.AddRange(await RunScenarioAsync(name, rowsPerRequest, inEventOrder));
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <param name="inEventOrder">Rows sorted by event time (some scenarios list them newest first), else as listed.</param>
    private async Task<List<string>> RunScenarioAsync(string name, int rowsPerRequest, bool inEventOrder)
    {
        var failures = new List<string>();
        var scenario = WazoScenario.Load(name);
        // each scenario gets its own area: linkedids repeat across scenarios
        var area = Guid.NewGuid();
        var admin = Client(Roles.AreaAdmin, area);
        var pbx = Client(Roles.Ingest, area);
        var directory = scenario.Json["directory"]!;
        var lines = directory["lines"]!.AsArray().Select(l => l!.AsObject()).ToList();
        foreach (var user in directory["users"]!.AsArray().Select(u => u!.AsObject()))
        {
            await Read(await admin.PutAsJsonAsync($"/api/areas/{area}/telephony/users/{user["uuid"]}", UserBody(user, lines)));
        }
        foreach (var vm in directory["voicemails"]!.AsArray())
        {
            await Read(await admin.PutAsJsonAsync($"/api/areas/{area}/telephony/voicemails/{vm!["id"]}",
                new { name = (string)vm["name"]!, number = (string)vm["number"]!, context = (string)vm["context"]! }));
        }
        var cels = scenario.Json["cel"]!.AsArray().Select(c => c!).ToList();
        if (inEventOrder)
        {
            if (string.CompareOrdinal((string?)cels[0]["eventtime"], (string?)cels[^1]["eventtime"]) > 0)
            {
                cels.Reverse();
            }
            cels = [.. cels.OrderBy(c => (string?)c["eventtime"], StringComparer.Ordinal)];
        }
        var rows = cels.Select((c, i) =>
        {
            var row = c.DeepClone().AsObject();
            row["id"] = i + 1;
            row.Remove("call_log_id");
            foreach (var (column, value) in new[] { ("cid_name", "default name"), ("cid_num", "9999") })
            {
                if (!row.ContainsKey(column)) row[column] = value;
            }
            return (JsonNode)row;
        }).ToList();

        var count = scenario.CelCount();
        foreach (var request in rows.Chunk(rowsPerRequest))
        {
            await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel?generate={(count is null ? "true" : "false")}", new JsonArray(request)));
        }
        if (count is { } n)
        {
            // the scenario ran `wazo-call-logs --cel-count N`; the processed-before rows are not marked here, see the unit test
            var runs = name.EndsWith("process_cel_after_those_already_processed", StringComparison.Ordinal) ? 2 : 1;
            for (var run = 0; run < runs; run++)
            {
                await Read(await admin.PostAsJsonAsync($"/api/areas/{area}/telephony/call-logs/generate", new { celCount = n }));
            }
        }

        var page = await Read(await admin.GetAsync($"/api/areas/{area}/telephony/call-logs?order=start&direction=asc"));
        var items = page["items"]!.AsArray().Select(i => i!).ToList();
        if (scenario.ExpectNoCallLog)
        {
            if (items.Count > 0) failures.Add($"{name}: expected no call log, got {items.Count}");
            return failures;
        }
        var unnamed = 0;
        foreach (var (linkedId, properties) in scenario.Expected())
        {
            var log = linkedId is null ? items.ElementAtOrDefault(unnamed++) : items.FirstOrDefault(i => (string?)i["conversationId"] == linkedId);
            if (log is null)
            {
                failures.Add($"{name}: no call log for {linkedId ?? "#" + unnamed}");
                continue;
            }
            Assert.Equal(area.ToString(), (string?)log["areaId"]);
            failures.AddRange(ScenarioExpectations.Mismatches(properties, ScenarioExpectations.Project(log)).Select(e => $"{name}: {e}"));
        }
        return failures;
    }

    [Fact]
    public async Task The_requested_user_is_in_the_api_and_csv_and_filters_follow_the_reference()
    {
        var scenario = WazoScenario.Load("calllogs__no_answer_forward_to_internal_answered");
        var area = Guid.NewGuid();
        var admin = Client(Roles.AreaAdmin, area);
        var lines = scenario.Json["directory"]!["lines"]!.AsArray().Select(l => l!.AsObject()).ToList();
        foreach (var user in scenario.Json["directory"]!["users"]!.AsArray().Select(u => u!.AsObject()))
        {
            await Read(await admin.PutAsJsonAsync($"/api/areas/{area}/telephony/users/{user["uuid"]}", UserBody(user, lines)));
        }
        var rows = new JsonArray(scenario.Json["cel"]!.AsArray().Select((c, i) => { var row = c!.DeepClone().AsObject(); row["id"] = i + 1; return (JsonNode)row; }).ToArray());
        await Read(await Client(Roles.Ingest, area).PostAsJsonAsync($"/api/areas/{area}/telephony/cel", rows));
        var (bob, carol) = ("b0b00000-0000-4000-8000-000000000002", "ca201000-0000-4000-8000-000000000003");

        var log = (await Page(admin, area))["items"]![0]!;
        Assert.Equal(bob, (string?)log["requestedUserUuid"]);
        Assert.Equal(carol, (string?)log["destinationUserUuid"]);
        // as wazo: a user's calls are those they made or finally took; Bob only forwarded this one
        Assert.Empty(Conversations(await Page(admin, area, $"user_uuid={bob}")));
        Assert.Single(Conversations(await Page(admin, area, $"user_uuid={carol}")));
        Assert.Single(Conversations(await Page(admin, area, "requested_internal_extension=1002&requested_internal_context=default")));
        Assert.Empty(Conversations(await Page(admin, area, "requested_internal_extension=1003")));
        Assert.Single(Conversations(await Page(admin, area, "conversation_id=1773480600.40")));
        // Bob's own list has it: he took part
        Assert.Single(Conversations(await Read(await Client(Roles.AreaViewer, area, bob).GetAsync($"/api/areas/{area}/telephony/users/me/call-logs"))));

        var csv = (await (await admin.GetAsync($"/api/areas/{area}/telephony/call-logs?format=csv")).Content.ReadAsStringAsync()).Split("\r\n");
        var header = csv[0].Split(',');
        Assert.Equal(bob, csv[1].Split(',')[Array.IndexOf(header, "requested_user_uuid")]);
    }

    // ---- synthetic calls for the behaviour tests ----

    private long _nextId;

    private JsonArray Call(string linkedId, DateTimeOffset start, string caller = "alice", string callee = "bob", string callerNum = "1001",
        string calleeNum = "1002", bool answered = true, string callerName = "Alice Liddell", string calleeName = "Bob Marley")
    {
        string T(double s) => start.AddSeconds(s).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff");
        JsonObject Row(string type, double at, string chan, string uid, string name, string num, string exten) => new()
        {
            ["id"] = ++_nextId, ["eventtype"] = type, ["eventtime"] = T(at), ["cid_name"] = name, ["cid_num"] = num, ["exten"] = exten,
            ["context"] = "default", ["channame"] = chan, ["uniqueid"] = uid, ["linkedid"] = linkedId,
        };
        var (a, b) = ($"SIP/{caller}-0001", $"SIP/{callee}-0002");
        var rows = new List<JsonObject>
        {
            Row("CHAN_START", 0, a, linkedId, callerName, callerNum, calleeNum),
            Row("CHAN_START", 1, b, linkedId + "9", calleeName, calleeNum, "s"),
        };
        if (answered)
        {
            rows.Add(Row("BRIDGE_ENTER", 3, a, linkedId, callerName, callerNum, ""));
            rows.Add(Row("BRIDGE_ENTER", 3, b, linkedId + "9", calleeName, calleeNum, ""));
        }
        rows.Add(Row("CHAN_END", 10, b, linkedId + "9", calleeName, calleeNum, ""));
        rows.Add(Row("CHAN_END", 11, a, linkedId, callerName, callerNum, ""));
        rows.Add(Row("LINKEDID_END", 12, a, linkedId, callerName, callerNum, ""));
        return new JsonArray(rows.Select(r => (JsonNode)r).ToArray());
    }

    private static readonly Guid Alice = Guid.Parse("aaaaaaaa-0000-4000-8000-000000000001");
    private static readonly Guid Bob = Guid.Parse("bbbbbbbb-0000-4000-8000-000000000002");

    private async Task<(Guid Area, HttpClient Admin, HttpClient Pbx)> AreaWithUsersAsync()
    {
        var area = Guid.NewGuid();
        var admin = Client(Roles.AreaAdmin, area);
        await Read(await admin.PutAsJsonAsync($"/api/areas/{area}/telephony/users/{Alice}",
            new { name = "Alice", userfield = " sales , paris", lines = new[] { new { id = 1, name = "alice", extensions = new[] { new { exten = "1001", context = "default" } } } } }));
        await Read(await admin.PutAsJsonAsync($"/api/areas/{area}/telephony/users/{Bob}",
            new { name = "Bob", userfield = "support,paris", lines = new[] { new { id = 2, name = "bob", extensions = new[] { new { exten = "1002", context = "default" } } } } }));
        return (area, admin, Client(Roles.Ingest, area));
    }

    private static async Task<JsonNode> Page(HttpClient client, Guid area, string query = "") =>
        await Read(await client.GetAsync($"/api/areas/{area}/telephony/call-logs?{query}"));

    private static List<string> Conversations(JsonNode page) => page["items"]!.AsArray().Select(i => (string)i!["conversationId"]!).ToList();

    [Fact]
    public async Task A_call_log_is_tagged_with_its_participants_userfields_and_announced_with_CallLogsCreated()
    {
        var (area, admin, pbx) = await AreaWithUsersAsync();
        var intake = await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", Call("100.1", DateTimeOffset.UtcNow.AddHours(-1))));
        Assert.Equal(1, (int)intake["generated"]!["created"]!);

        var log = (await Page(admin, area))["items"]![0]!;
        Assert.Equal(["sales", "paris", "support"], log["tags"]!.AsArray().Select(t => (string)t!));
        Assert.Equal(Alice.ToString(), (string?)log["sourceUserUuid"]);
        Assert.Equal(Bob.ToString(), (string?)log["destinationUserUuid"]);
        Assert.Equal(8.0, (double)log["duration"]!); // answered at +3 s, caller hung up at +11 s

        var created = Assert.Single((await _events.WaitFor<CallLogsCreated>(e => e.AreaId == area)).CallLogs);
        Assert.Equal((long)log["id"]!, created.Id);
        Assert.Equal("100.1", created.ConversationId);
        Assert.Contains("support", created.Tags);
        Assert.Equal(Bob, created.RequestedUserUuid ?? Bob);
    }

    [Fact]
    public async Task Bad_rows_get_errors_good_rows_are_kept_and_a_resent_row_is_ignored()
    {
        var (area, _, pbx) = await AreaWithUsersAsync();
        var rows = Call("200.1", DateTimeOffset.UtcNow.AddHours(-1));
        rows.Insert(0, new JsonObject { ["id"] = "x", ["eventtype"] = "CHAN_START", ["eventtime"] = "yesterday", ["uniqueid"] = "1", ["linkedid"] = "1" });
        var first = await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", rows));
        Assert.Equal(rows.Count - 1, (int)first["accepted"]!);
        var rejected = Assert.Single(first["rejected"]!.AsArray())!;
        Assert.Equal(0, (int)rejected["index"]!);
        Assert.Contains(rejected["errors"]!.AsArray(), e => ((string)e!).StartsWith("id:", StringComparison.Ordinal));
        Assert.Contains(rejected["errors"]!.AsArray(), e => ((string)e!).StartsWith("eventtime:", StringComparison.Ordinal));

        rows.RemoveAt(0);
        var again = await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", rows));
        Assert.Equal(0, (int)again["accepted"]!);
        Assert.Equal(rows.Count, (int)again["duplicates"]!);
    }

    /// <summary>
    /// A body that is no batch (broken JSON, an object, bytes after the array) is refused as a whole with nothing
    /// written, and leaves the area's write lock free: the next batch of the area is taken at once.
    /// </summary>
    [Fact]
    public async Task A_body_that_is_no_batch_is_refused_with_nothing_stored_and_the_area_stays_writable()
    {
        var (area, admin, pbx) = await AreaWithUsersAsync();
        var rows = Call("210.1", DateTimeOffset.UtcNow.AddHours(-1));
        var truncated = rows.ToJsonString()[..^10];
        foreach (var (body, problem) in new[]
        {
            (truncated, "not valid JSON"),
            ("""{"id":1}""", "JSON array"),
            ($"[{rows[0]!.ToJsonString()},{rows[1]!.ToJsonString()}]\u0000", "not valid JSON"),
        })
        {
            using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            var refused = await Read(await pbx.PostAsync($"/api/areas/{area}/telephony/cel", content), HttpStatusCode.BadRequest);
            Assert.Contains(problem, refused.ToJsonString(), StringComparison.Ordinal);
        }

        await using (var scope = _service.Services.CreateAsyncScope())
        {
            Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<TelephonyDbContext>().CelsOf(area).CountAsync());
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var intake = await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", rows, timeout.Token));
        Assert.Equal(rows.Count, (int)intake["accepted"]!);
        Assert.Equal(1, (int)intake["generated"]!["created"]!);
        Assert.Equal(["210.1"], Conversations(await Page(admin, area)));
    }

    [Fact]
    public async Task Regenerating_twice_gives_the_same_call_logs_as_once()
    {
        var (area, admin, pbx) = await AreaWithUsersAsync();
        var now = DateTimeOffset.UtcNow;
        foreach (var (id, ago) in new[] { ("300.1", 3), ("301.1", 2), ("302.1", 1) })
        {
            await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", Call(id, now.AddHours(-ago))));
        }
        static JsonNode Strip(JsonNode page) => new JsonArray(page["items"]!.AsArray().Select(i => { var c = i!.DeepClone().AsObject(); c.Remove("id"); return (JsonNode)c; }).ToArray());
        var once = Strip(await Page(admin, area));

        for (var run = 0; run < 2; run++)
        {
            await Read(await admin.DeleteAsync($"/api/areas/{area}/telephony/call-logs?all=true"));
            var generated = await Read(await admin.PostAsJsonAsync($"/api/areas/{area}/telephony/call-logs/generate", new { days = 1 }));
            Assert.Equal(3, (int)generated["created"]!);
        }
        // generating rows that already have call logs replaces them
        await using (var scope = _service.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<TelephonyDbContext>();
            // as upstream's "partially processed call": the last rows of each call arrived after its call log was made
            await db.CelsOf(area).Where(c => c.EventType == "LINKEDID_END").ExecuteUpdateAsync(s => s.SetProperty(c => c.CallLogId, (long?)null));
        }
        var replaced = await Read(await admin.PostAsJsonAsync($"/api/areas/{area}/telephony/call-logs/generate", new { celCount = 20000 }));
        Assert.Equal(3, (int)replaced["created"]!);
        Assert.Equal(3, (int)replaced["replaced"]!);

        var twice = await Page(admin, area);
        Assert.Equal(3, (int)twice["total"]!);
        Assert.True(JsonNode.DeepEquals(once, Strip(twice)), $"{once}\n!=\n{Strip(twice)}");
    }

    [Fact]
    public async Task Deleting_the_last_days_leaves_older_call_logs_and_their_rows_can_be_generated_again()
    {
        var (area, admin, pbx) = await AreaWithUsersAsync();
        var now = DateTimeOffset.UtcNow;
        await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", Call("400.1", now.AddDays(-5))));
        await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", Call("401.1", now.AddHours(-2))));

        var deleted = await Read(await admin.DeleteAsync($"/api/areas/{area}/telephony/call-logs?days=1"));
        Assert.Equal(1, (int)deleted["deleted"]!);
        Assert.Equal(["400.1"], Conversations(await Page(admin, area)));

        await Read(await admin.DeleteAsync($"/api/areas/{area}/telephony/call-logs?days=0"), HttpStatusCode.BadRequest);
        var regenerated = await Read(await admin.PostAsJsonAsync($"/api/areas/{area}/telephony/call-logs/generate", new { celCount = 5 }));
        Assert.Equal(1, (int)regenerated["created"]!);
        Assert.Equal(["401.1", "400.1"], Conversations(await Page(admin, area)));
    }

    [Fact]
    public async Task Regeneration_and_purge_are_long_operations_whose_progress_and_outcome_operators_and_admins_see()
    {
        var (area, admin, pbx) = await AreaWithUsersAsync();
        var now = DateTimeOffset.UtcNow;
        foreach (var (id, ago) in new[] { ("500.1", 3), ("501.1", 2), ("502.1", 1) })
        {
            await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel?generate=false", Call(id, now.AddHours(-ago))));
        }

        await Read(await admin.PostAsJsonAsync($"/api/areas/{area}/telephony/call-logs/generate", new { days = 1 }));
        await Read(await admin.DeleteAsync($"/api/areas/{area}/telephony/call-logs?all=true"));

        var operations = (await Read(await admin.GetAsync($"/api/areas/{area}/telephony/operations"))).AsArray();
        Assert.Equal(["telephony-delete", "telephony-generate"], operations.Select(o => (string)o!["kind"]!));
        var (purge, generation) = (operations[0]!, operations[1]!);
        Assert.Equal(("succeeded", 3, 3, "calls", "tester"), ((string)generation["state"]!, (int)generation["done"]!, (int)generation["total"]!, (string)generation["unit"]!, (string)generation["startedBy"]!));
        Assert.StartsWith("Generated 3 call logs", (string)generation["message"]!);
        Assert.Equal(("succeeded", 3, 3), ((string)purge["state"]!, (int)purge["done"]!, (int)purge["total"]!));
        Assert.NotNull(generation["finishedAt"]);
        var one = await Read(await admin.GetAsync($"/api/areas/{area}/telephony/operations/{generation["id"]}"));
        Assert.Equal((string)generation["id"]!, (string)one["id"]!);

        // A run whose process died: still "running" in the table, not heard of for minutes.
        await using (var scope = _service.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<TelephonyDbContext>();
            db.Operations.Add(new TelephonyOperation
            {
                Id = Guid.NewGuid(), AreaId = area, Kind = "telephony-generate", Unit = "calls", StartedBy = "command line (root)", State = "running",
                StartedAt = now.AddMinutes(-20), UpdatedAt = now.AddMinutes(-10), Done = 1_000, Total = 4_000,
            });
            await db.SaveChangesAsync();
        }

        using var operatorClient = _service.CreateClient(infra.Tokens.Issue(Roles.Operator, null, "operator"));
        var all = (await Read(await operatorClient.GetAsync("/api/ops/operations"))).AsArray().Where(o => (Guid)o!["areaId"]! == area).ToList();
        Assert.Equal(3, all.Count);
        Assert.Equal(("interrupted", 1_000, 4_000), ((string)all[0]!["state"]!, (int)all[0]!["done"]!, (int)all[0]!["total"]!));
        await Read(await Client(Roles.AreaAdmin, area).GetAsync("/api/ops/operations"), HttpStatusCode.Forbidden);
        await Read(await _service.CreateClient(null).GetAsync("/api/ops/operations"), HttpStatusCode.Unauthorized);
        await Read(await Client(Roles.AreaAdmin, Guid.NewGuid()).GetAsync($"/api/areas/{area}/telephony/operations"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_nightly_run_generates_the_calls_the_real_time_path_missed()
    {
        var (area, admin, pbx) = await AreaWithUsersAsync();
        await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel?generate=false", Call("700.1", DateTimeOffset.UtcNow.AddHours(-3))));
        Assert.Empty(Conversations(await Page(admin, area)));

        Assert.True(await _service.Services.GetRequiredService<TelephonyJobs>().RunNightlyAsync(CancellationToken.None));

        Assert.Equal(["700.1"], Conversations(await Page(admin, area)));
    }

    private async Task<T> InScope<T>(Func<IServiceProvider, Task<T>> work)
    {
        await using var scope = _service.Services.CreateAsyncScope();
        return await work(scope.ServiceProvider);
    }

    private Task<int> CelCount(Guid area) => InScope(sp => sp.GetRequiredService<TelephonyDbContext>().CelsOf(area).CountAsync());

    [Fact]
    public async Task The_purge_removes_call_logs_older_than_the_area_retention_with_their_CEL_rows_so_no_run_makes_them_again()
    {
        var (area, admin, pbx) = await AreaWithUsersAsync();
        var now = DateTimeOffset.UtcNow;
        await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", Call("500.1", now.AddDays(-400))));
        await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", Call("501.1", now.AddDays(-20))));
        await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", Call("502.1", now.AddDays(-1))));
        // rows older than the retention that never made a call log (the call never ended) go too
        var unfinished = Call("503.1", now.AddDays(-500));
        unfinished.RemoveAt(unfinished.Count - 1);
        await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", unfinished));
        Assert.Equal(3 * 7 + 6, await CelCount(area));

        var purged = await InScope(sp => sp.GetRequiredService<TelephonyRuns>().PurgeAsync(area, CancellationToken.None));
        Assert.Equal((1, 7 + 6), purged);
        Assert.Equal(["502.1", "501.1"], Conversations(await Page(admin, area)));

        await Read(await admin.PutAsJsonAsync($"/api/areas/{area}/telephony/retention", new { days = 10 }));
        Assert.Equal(10, (int)(await Read(await admin.GetAsync($"/api/areas/{area}/telephony/retention")))["days"]!);
        await InScope(sp => sp.GetRequiredService<TelephonyRuns>().PurgeAsync(area, CancellationToken.None));
        Assert.Equal(["502.1"], Conversations(await Page(admin, area)));
        Assert.Equal(7, await CelCount(area));

        // neither a regeneration nor the nightly run brings a purged call back
        await Read(await admin.DeleteAsync($"/api/areas/{area}/telephony/call-logs?all=true"));
        await Read(await admin.PostAsJsonAsync($"/api/areas/{area}/telephony/call-logs/generate", new { days = 1000 }));
        Assert.True(await _service.Services.GetRequiredService<TelephonyJobs>().RunNightlyAsync(CancellationToken.None));
        Assert.Equal(["502.1"], Conversations(await Page(admin, area)));
    }

    [Fact]
    public async Task Every_query_parameter_filters_orders_and_pages_call_logs()
    {
        var (area, admin, pbx) = await AreaWithUsersAsync();
        var t = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);
        await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel", Call("600.1", t)));
        await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel",
            Call("601.1", t.AddHours(1), caller: "trunk", callee: "bob", callerNum: "0612345678", callerName: "Outside Caller")));
        await Read(await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel",
            Call("602.1", t.AddHours(2), caller: "carol", callee: "dave", callerNum: "1003", calleeNum: "1004", answered: false, callerName: "Carol", calleeName: "Dave")));
        // another area's call never shows
        var other = Guid.NewGuid();
        await Read(await Client(Roles.Ingest, other).PostAsJsonAsync($"/api/areas/{other}/telephony/cel", Call("699.1", t)));

        var viewer = Client(Roles.AreaViewer, area);
        var all = await Page(viewer, area);
        Assert.Equal(["602.1", "601.1", "600.1"], Conversations(all));
        Assert.Equal(3, (int)all["total"]!);
        Assert.Equal(3, (int)all["filtered"]!);

        Assert.Equal(["601.1", "600.1"], Conversations(await Page(viewer, area, "from=2026-03-01T10:00:00Z&until=2026-03-01T12:00:00Z")));
        Assert.Equal(3, (int)(await Page(viewer, area, "call_direction=internal"))["filtered"]!);
        Assert.Equal(0, (int)(await Page(viewer, area, "call_direction=inbound"))["filtered"]!);
        Assert.Equal(["601.1"], Conversations(await Page(viewer, area, "search=OUTSIDE")));
        Assert.Equal(["602.1"], Conversations(await Page(viewer, area, "search=dav")));
        Assert.Equal(["601.1"], Conversations(await Page(viewer, area, "number=06_")));
        Assert.Equal(["602.1"], Conversations(await Page(viewer, area, "number=_04")));
        Assert.Equal(["602.1", "601.1", "600.1"], Conversations(await Page(viewer, area, "number=_0_")));
        Assert.Equal(["600.1"], Conversations(await Page(viewer, area, "tags=sales,paris")));
        Assert.Equal(["601.1", "600.1"], Conversations(await Page(viewer, area, "tags=support")));
        Assert.Empty(Conversations(await Page(viewer, area, "tags=sales,nowhere")));
        Assert.Equal(["600.1"], Conversations(await Page(viewer, area, $"user_uuid={Alice}")));
        Assert.Equal(["601.1", "600.1"], Conversations(await Page(viewer, area, $"user_uuid={Alice},{Bob}")));
        Assert.Equal(["600.1", "601.1", "602.1"], Conversations(await Page(viewer, area, "order=start&direction=asc")));
        Assert.Equal(["601.1", "600.1", "602.1"], Conversations(await Page(viewer, area, "order=source_extension&direction=asc")));
        var paged = await Page(viewer, area, "limit=1&offset=1");
        Assert.Equal(["601.1"], Conversations(paged));
        Assert.Equal(3, (int)paged["filtered"]!);
        await Read(await viewer.GetAsync($"/api/areas/{area}/telephony/call-logs?number=12a&order=nope&direction=up&call_direction=x"), HttpStatusCode.BadRequest);

        var csv = await (await viewer.GetAsync($"/api/areas/{area}/telephony/call-logs?format=csv&tags=paris&order=start&direction=asc")).Content.ReadAsStringAsync();
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("id,conversation_id,start", lines[0]);
        Assert.Contains(",requested_user_uuid,", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.EndsWith(",sales;paris;support", lines[1]);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/areas/{area}/telephony/call-logs?search=carol");
        request.Headers.Accept.ParseAdd("text/csv");
        using var response = await viewer.SendAsync(request);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(2, (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);

        // a user's own calls only
        var bob = Client(Roles.AreaViewer, area, Bob.ToString());
        Assert.Equal(["601.1", "600.1"], Conversations(await Read(await bob.GetAsync($"/api/areas/{area}/telephony/users/me/call-logs"))));
        // another area's token sees nothing here
        await Read(await Client(Roles.AreaViewer, other).GetAsync($"/api/areas/{area}/telephony/call-logs"), HttpStatusCode.NotFound);
        await Read(await pbx.GetAsync($"/api/areas/{area}/telephony/call-logs"), HttpStatusCode.Forbidden);
    }
}
