using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Telephony.Data;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.Telephony.Tests;

/// <summary>
/// Two telephony instances on one database and broker: the nightly job runs on one of them, two generations of one
/// area never run at once, and real-time intake during a regeneration makes no duplicate.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class TwoInstancesTests(Infrastructure infra) : IAsyncLifetime
{
    private ServiceFactory<TelephonyDbContext> _first = null!;
    private ServiceFactory<TelephonyDbContext> _second = null!;

    public async Task InitializeAsync()
    {
        _first = await ServiceFactory<TelephonyDbContext>.StartAsync(infra, "telephony", new Dictionary<string, string?> { ["Telephony:RunScheduledJobs"] = "false" });
        _second = await ServiceFactory<TelephonyDbContext>.StartAsync(infra, "telephony", new Dictionary<string, string?>
        {
            ["Telephony:RunScheduledJobs"] = "false",
            ["ConnectionStrings:telephonydb"] = _first.Configuration["ConnectionStrings:telephonydb"],
            ["ConnectionStrings:messaging"] = _first.Configuration["ConnectionStrings:messaging"],
        });
    }

    public async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
    }

    private HttpClient Client(ServiceFactory<TelephonyDbContext> instance, string role, Guid area) => instance.CreateClient(infra.Tokens.Issue(role, area, "tester"));

    private static JsonArray Calls(int count, long firstId, DateTimeOffset at)
    {
        var rows = new JsonArray();
        var id = firstId;
        for (var n = 0; n < count; n++)
        {
            var linkedId = $"{firstId}.{n}";
            string T(int s) => at.AddMinutes(n).AddSeconds(s).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff");
            foreach (var (type, s) in new[] { ("CHAN_START", 0), ("CHAN_END", 5), ("LINKEDID_END", 6) })
            {
                rows.Add(new JsonObject
                {
                    ["id"] = id++, ["eventtype"] = type, ["eventtime"] = T(s), ["channame"] = $"SIP/user{n}-01", ["uniqueid"] = linkedId, ["linkedid"] = linkedId,
                    ["cid_name"] = $"User {n}", ["cid_num"] = "1001", ["exten"] = "1002", ["context"] = "default",
                });
            }
        }

        return rows;
    }

    private async Task<List<(string Conversation, int Logs)>> LogsPerConversation(Guid area)
    {
        await using var scope = _first.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TelephonyDbContext>();
        return (await db.CallLogs.Where(c => c.AreaId == area).GroupBy(c => c.ConversationId).Select(g => new { g.Key, Count = g.Count() }).ToListAsync())
            .Select(g => (g.Key, g.Count)).ToList();
    }

    [Fact]
    public async Task While_one_instance_runs_a_generation_of_an_area_the_other_refuses_one_with_409_and_records_no_operation()
    {
        var area = Guid.NewGuid();
        await using (var held = await _first.Services.GetRequiredService<AreaLocks>().TryRunAsync(area, CancellationToken.None))
        {
            Assert.NotNull(held);
            using var refused = await Client(_second, Roles.AreaAdmin, area).PostAsJsonAsync($"/api/areas/{area}/telephony/call-logs/generate", new { days = 1 });
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("running", await refused.Content.ReadAsStringAsync());
            using var refusedDelete = await Client(_second, Roles.AreaAdmin, area).DeleteAsync($"/api/areas/{area}/telephony/call-logs?all=true");
            Assert.Equal(HttpStatusCode.Conflict, refusedDelete.StatusCode);
            Assert.Empty((await Client(_second, Roles.AreaAdmin, area).GetFromJsonAsync<JsonArray>($"/api/areas/{area}/telephony/operations"))!);
            // another area is not held up
            var other = Guid.NewGuid();
            using var elsewhere = await Client(_second, Roles.AreaAdmin, other).PostAsJsonAsync($"/api/areas/{other}/telephony/call-logs/generate", new { days = 1 });
            Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
        }

        using var accepted = await Client(_second, Roles.AreaAdmin, area).PostAsJsonAsync($"/api/areas/{area}/telephony/call-logs/generate", new { days = 1 });
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task The_nightly_job_runs_on_one_instance_at_a_time()
    {
        await using (var held = await _first.Services.GetRequiredService<AreaLocks>().TryNightlyAsync(CancellationToken.None))
        {
            Assert.NotNull(held);
            Assert.False(await _second.Services.GetRequiredService<TelephonyJobs>().RunNightlyAsync(CancellationToken.None));
        }

        Assert.True(await _second.Services.GetRequiredService<TelephonyJobs>().RunNightlyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Generations_and_intake_of_one_area_on_both_instances_at_once_leave_one_call_log_per_call()
    {
        var area = Guid.NewGuid();
        var at = DateTimeOffset.UtcNow.AddHours(-5);
        using (var response = await Client(_first, Roles.Ingest, area).PostAsJsonAsync($"/api/areas/{area}/telephony/cel?generate=false", Calls(300, 1, at)))
        {
            response.EnsureSuccessStatusCode();
        }

        var generations = Enumerable.Range(0, 4).Select(async i =>
        {
            using var response = await Client(i % 2 == 0 ? _first : _second, Roles.AreaAdmin, area)
                .PostAsJsonAsync($"/api/areas/{area}/telephony/call-logs/generate", new { celCount = 100_000 });
            return response.StatusCode;
        }).ToList();
        // real-time intake on both instances meanwhile
        var intake = Enumerable.Range(0, 4).Select(async i =>
        {
            using var response = await Client(i % 2 == 0 ? _second : _first, Roles.Ingest, area)
                .PostAsJsonAsync($"/api/areas/{area}/telephony/cel", Calls(25, 10_000 + i * 1_000, at.AddHours(2)));
            return response.StatusCode;
        }).ToList();

        var statuses = await Task.WhenAll(generations.Concat(intake));
        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.Conflict, s.ToString()));
        Assert.Contains(HttpStatusCode.OK, statuses.Take(4));
        // whatever ran, a last regeneration completes what a refused one left
        using (var last = await Client(_second, Roles.AreaAdmin, area).PostAsJsonAsync($"/api/areas/{area}/telephony/call-logs/generate", new { celCount = 100_000 }))
        {
            last.EnsureSuccessStatusCode();
        }

        var logs = await LogsPerConversation(area);
        Assert.Equal(300 + 4 * 25, logs.Count);
        Assert.All(logs, l => Assert.Equal(1, l.Logs));
    }
}
