using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;

namespace CallLogs.EndToEnd.Tests;

/// <summary>One AppHost run (one instance of each service) shared by the tests of this class.</summary>
public sealed class SingleInstances : IAsyncLifetime
{
    public AspireSystem System { get; private set; } = null!;

    public async Task InitializeAsync() => System = await AspireSystem.StartAsync(replicas: 1);

    public async Task DisposeAsync() => await System.DisposeAsync();
}

/// <summary>The whole system started by its AppHost, driven from outside through its public APIs and real clients.</summary>
[Collection(AppHostCollection.Name)]
public sealed class SystemTests(SingleInstances run) : IClassFixture<SingleInstances>
{
    private readonly CallLogsClient _client = new(run.System);

    [Fact]
    public async Task A_posted_batch_reaches_its_hourly_S3_object_a_live_WebSocket_subscriber_and_the_ingest_read_API()
    {
        var area = await _client.CreateAreaAsync();
        var bucket = await _client.NewBucketAsync();
        var hour = HourOf(DateTimeOffset.UtcNow).AddHours(1); // already closed for the export service, which runs two hours ahead
        var profile = await _client.CreateProfileAsync(area, bucket, hour);
        await using var subscriber = await CallLogsClient.Subscriber.ConnectAsync(await _client.CreateStreamChannelAsync(area));
        var records = Enumerable.Range(1, 3).Select(i => CallLogsClient.Record(hour.AddMinutes(i))).ToList();
        var ids = records.Select(r => (string)r["request_uuid"]).ToList();

        await _client.PostRecordsAsync(area, records);

        await Eventually.Until(() => ids.TrueForAll(subscriber.Received.Contains), TimeSpan.FromSeconds(60), "the subscriber received the batch");
        await Eventually.Until(async () => ids.TrueForAll((await _client.ReadRecordsAsync(area, hour, hour.AddHours(1))).Contains),
            TimeSpan.FromSeconds(60), "the ingest read API returns the batch");
        var exported = new List<string>();
        await Eventually.Until(async () =>
            {
                exported = await _client.ExportedLinesAsync(bucket, area, profile, hour);
                return ids.TrueForAll(id => exported.Exists(line => line.Contains(id, StringComparison.Ordinal)));
            },
            TimeSpan.FromSeconds(120), "the hour's S3 objects hold the batch");
        Assert.All(ids, id => Assert.Single(exported, line => line.Contains(id, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_created_export_profile_shows_up_in_the_audit_lookup()
    {
        var area = await _client.CreateAreaAsync();
        var profile = await _client.CreateProfileAsync(area, "audit-e2e", HourOf(DateTimeOffset.UtcNow).AddHours(2));

        await Eventually.Until(async () => (await _client.AuditEventsAsync(area, "CreateExportProfile")).Count > 0,
            TimeSpan.FromSeconds(60), "the audit lookup shows the creation");
        var events = await _client.AuditEventsAsync(area, "CreateExportProfile");
        Assert.Contains(profile.ToString(), Assert.Single(events).GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_operator_commands_run_to_completion_against_the_services()
    {
        var area = await _client.CreateAreaAsync();
        var bucket = await _client.NewBucketAsync();
        var hour = HourOf(DateTimeOffset.UtcNow).AddHours(1);
        var profile = await _client.CreateProfileAsync(area, bucket, hour);
        await _client.PostRecordsAsync(area, [CallLogsClient.Record(hour.AddMinutes(5))]);
        await Eventually.Until(async () => (await _client.ExportedLinesAsync(bucket, area, profile, hour)).Count > 0, TimeSpan.FromSeconds(120), "the hour exported");

        var commands = run.System.App.ResourceCommands;
        var reExport = await commands.ExecuteCommandAsync("export", "re-export", Arguments(
            ("areaId", area.ToString()), ("profileId", profile.ToString()), ("from", hour.ToString("O")), ("to", hour.AddHours(1).ToString("O"))));
        var validation = await commands.ExecuteCommandAsync("audit", "validate-trail", Arguments(("area", "platform"), ("hours", "24")));
        var regeneration = await commands.ExecuteCommandAsync("telephony", "regenerate-call-logs", Arguments(("areaId", area.ToString()), ("days", "1")));

        Assert.True(reExport.Success, reExport.Message);
        Assert.True(validation.Success, validation.Message);
        Assert.True(regeneration.Success, regeneration.Message);
        using var export = run.System.Client("export", run.System.Tokens.Issue(Roles.Operator, null, "e2e-operator"));
        await Eventually.Until(async () => (await export.GetFromJsonAsync<JsonElement>("/api/ops/operations")).EnumerateArray()
            .Any(o => o.GetProperty("areaId").GetGuid() == area && o.GetProperty("state").GetString() == "succeeded"),
            TimeSpan.FromSeconds(120), "the re-export succeeded");
    }

    [Fact]
    public async Task A_PBX_s_CEL_rows_become_a_telephony_call_log_that_the_regeneration_command_rebuilds()
    {
        var area = await _client.CreateAreaAsync();
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        var conversation = $"{start.ToUnixTimeSeconds()}.7";

        var intake = await _client.PostCelAsync(area, CallLogsClient.AnsweredCall(conversation, start));

        Assert.Equal(7, intake.GetProperty("accepted").GetInt32());
        var log = Assert.Single(await _client.TelephonyCallLogsAsync(area));
        Assert.Equal(conversation, log.GetProperty("conversationId").GetString());
        Assert.Equal("1001", log.GetProperty("sourceExtension").GetString());
        Assert.Equal("1002", log.GetProperty("destinationExtension").GetString());
        Assert.Equal(8.0, log.GetProperty("duration").GetDouble()); // answered at +3 s, hung up at +11 s

        var regeneration = await run.System.App.ResourceCommands.ExecuteCommandAsync("telephony", "regenerate-call-logs",
            Arguments(("areaId", area.ToString()), ("days", "1")));

        Assert.True(regeneration.Success, regeneration.Message);
        var rebuilt = Assert.Single(await _client.TelephonyCallLogsAsync(area));
        Assert.Equal(conversation, rebuilt.GetProperty("conversationId").GetString());
        Assert.Equal(8.0, rebuilt.GetProperty("duration").GetDouble());
    }

    private static InteractionInputCollection Arguments(params (string Name, string Value)[] values) =>
        new([.. values.Select(v => new InteractionInput { Name = v.Name, InputType = InputType.Text, Value = v.Value })]);

    private static DateTimeOffset HourOf(DateTimeOffset time) => new(time.Year, time.Month, time.Day, time.Hour, 0, 0, TimeSpan.Zero);
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AppHostCollection
{
    public const string Name = "apphost";
}
