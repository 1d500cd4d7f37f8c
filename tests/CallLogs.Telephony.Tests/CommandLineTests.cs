using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CallLogs.TestServers;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Telephony.Data;
using CallLogs.Telephony.Extensions;
using CallLogs.Testing;

namespace CallLogs.Telephony.Tests;

/// <summary>The command line, as wazo-call-logs: <c>telephony</c> alone and <c>telephony -c N</c> generate; bad values are errors.</summary>
public sealed class CommandLineParseTests
{
    private static readonly Guid Area = Guid.Parse("0a0a0a0a-0000-4000-8000-000000000001");

    public static TheoryData<string, TelephonyCommand> Valid => new()
    {
        { "", new TelephonyCommand("generate", null, null, false, null) },
        { "-c 5", new TelephonyCommand("generate", 5, null, false, null) },
        { "--cel-count 10000000", new TelephonyCommand("generate", 10_000_000, null, false, null) },
        { "generate", new TelephonyCommand("generate", null, null, false, null) },
        { "generate -d 30 --area 0a0a0a0a-0000-4000-8000-000000000001", new TelephonyCommand("generate", null, 30, false, Area) },
        { "delete -d 30", new TelephonyCommand("delete", null, 30, false, null) },
        { "delete --all -a 0a0a0a0a-0000-4000-8000-000000000001", new TelephonyCommand("delete", null, null, true, Area) },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void A_valid_command_line_is_understood_as_wazo_call_logs_would(string line, TelephonyCommand expected)
    {
        var (command, error) = TelephonyCommandLine.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Null(error);
        Assert.Equal(expected, command);
    }

    [Theory]
    [InlineData("-c abc", "-c")]
    [InlineData("-c 0", "-c")]
    [InlineData("-c -5", "-c")]
    [InlineData("-c 10000001", "-c")]
    [InlineData("-c 2147483648", "-c")]
    [InlineData("-c 1.5", "-c")]
    [InlineData("-c", "-c")]
    [InlineData("-d x", "-d")]
    [InlineData("-d 36501", "-d")]
    [InlineData("-c 1 -c 2", "-c")]
    [InlineData("-c 1 -d 1", "not both")]
    [InlineData("delete", "delete needs")]
    [InlineData("delete -d 1 --all", "delete needs")]
    [InlineData("delete -c 5", "-c")]
    [InlineData("generate --all", "--all")]
    [InlineData("--area nope", "--area")]
    [InlineData("frobnicate", "frobnicate")]
    public void An_invalid_command_line_is_an_error_naming_what_is_wrong_never_a_default(string line, string mentions)
    {
        var (command, error) = TelephonyCommandLine.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Null(command);
        Assert.Contains(mentions, error);
    }
}

/// <summary>The command line run as operators run it: the service's assembly with <c>telephony ...</c>, against real servers.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class CommandLineRunTests(Infrastructure infra) : IAsyncLifetime
{
    private ServiceFactory<TelephonyDbContext> _service = null!;

    public async Task InitializeAsync() =>
        _service = await ServiceFactory<TelephonyDbContext>.StartAsync(infra, "telephony", new Dictionary<string, string?> { ["Telephony:RunScheduledJobs"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<(int ExitCode, string Output)> RunAsync(params string[] args) =>
        ManagedProcess.RunAsync("dotnet", [RepositoryPaths.ServiceAssembly("Telephony"), "telephony", .. args], new Dictionary<string, string?>
        {
            ["ConnectionStrings__telephonydb"] = _service.Configuration["ConnectionStrings:telephonydb"],
            ["ConnectionStrings__messaging"] = _service.Configuration["ConnectionStrings:messaging"],
            ["Auth__SigningKey"] = infra.SigningKey,
            ["DOTNET_ENVIRONMENT"] = "Testing",
            ["ASPNETCORE_ENVIRONMENT"] = "Testing",
            ["Logging__LogLevel__Default"] = "Warning",
        }, TimeSpan.FromMinutes(2));

    private static JsonArray Call(string linkedId, long firstId, int hoursAgo)
    {
        var t = DateTimeOffset.UtcNow.AddHours(-hoursAgo);
        string T(int s) => t.AddSeconds(s).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff");
        JsonObject Row(long id, string type, int s) => new()
        {
            ["id"] = id, ["eventtype"] = type, ["eventtime"] = T(s), ["channame"] = "SIP/alice-01", ["uniqueid"] = linkedId, ["linkedid"] = linkedId,
            ["cid_name"] = "Alice", ["cid_num"] = "1001", ["exten"] = "1002", ["context"] = "default",
        };
        return [Row(firstId, "CHAN_START", 0), Row(firstId + 1, "CHAN_END", 5), Row(firstId + 2, "LINKEDID_END", 6)];
    }

    [Fact]
    public async Task Telephony_alone_generates_every_area_and_minus_c_reads_the_newest_N_rows()
    {
        var (one, two) = (Guid.NewGuid(), Guid.NewGuid());
        foreach (var (area, linked, id, ago) in new[] { (one, "10.1", 1L, 3), (one, "11.1", 4L, 2), (two, "20.1", 1L, 1) })
        {
            using var pbx = _service.CreateClient(infra.Tokens.Issue(Roles.Ingest, area, "pbx"));
            (await pbx.PostAsJsonAsync($"/api/areas/{area}/telephony/cel?generate=false", Call(linked, id, ago))).EnsureSuccessStatusCode();
        }

        // the 3 newest unprocessed rows of area one are call 11.1's: only that call
        var (code, output) = await RunAsync("-c", "3", "--area", one.ToString());
        Assert.True(code == 0, output);
        Assert.Contains($"area {one}: Generated 1 call logs", output);

        // alone: generate, with the default count, in every area
        (code, output) = await RunAsync();
        Assert.True(code == 0, output);
        Assert.Contains($"area {one}: Generated 1 call logs", output);
        Assert.Contains($"area {two}: Generated 1 call logs", output);

        using var admin = _service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, one, "admin"));
        var page = await admin.GetFromJsonAsync<JsonObject>($"/api/areas/{one}/telephony/call-logs");
        Assert.Equal(2, (int)page!["total"]!);
        var operations = await admin.GetFromJsonAsync<JsonArray>($"/api/areas/{one}/telephony/operations");
        Assert.All(operations!, o => Assert.StartsWith("command line", (string)o!["startedBy"]!));
    }

    [Theory]
    [InlineData("-c", "abc")]
    [InlineData("-c", "0")]
    [InlineData("delete")]
    public async Task An_invalid_command_line_exits_2_with_the_usage_and_changes_nothing(params string[] args)
    {
        var (code, output) = await RunAsync(args);
        Assert.Equal(TelephonyCommandLine.UsageError, code);
        Assert.Contains("error:", output);
        Assert.Contains("usage: CallLogs.Telephony telephony", output);
    }
}
