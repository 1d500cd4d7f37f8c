using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using CallLogs.Testing;
using Xunit.Abstractions;

namespace CallLogs.EndToEnd.Tests;

/// <summary>
/// The reliability suite: the whole system with two instances of every service, driven from outside as real clients
/// do (a gateway posting and retrying, live WebSocket subscribers, an admin renaming a profile and rotating the
/// stream token), with faults injected one at a time. Afterwards every accepted record must be stored once and
/// exported exactly once to both of the area's profiles, every audit event delivered once to the S3 trail, no more
/// than five subscribers connected at once, every frame well formed, and every instance healthy again after each
/// fault. The short suite runs in <c>./build.sh test</c>; the long one (category Chaos) with <c>./build.sh chaos</c>.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class FaultTests(ITestOutputHelper output)
{
    public static readonly TimeSpan Recovery = TimeSpan.FromSeconds(120);
    private const int Replicas = 2;
    private const int StreamPlaces = 5;

    private readonly List<string> _table = [];
    private AspireSystem? _system;
    private ResourceWatch? _watch;
    private Gateway? _gateway;

    private AspireSystem System => _system!;
    private ResourceWatch Watch => _watch!;
    private Gateway Gateway => _gateway!;
    private ResourceCommandService Commands => System.App.ResourceCommands;

    private sealed record Fault(string Name, Func<Task<DateTimeOffset>> InjectAsync);

    [Fact]
    public Task Short_suite_killed_instances_a_restarted_broker_and_S3_down_lose_and_duplicate_nothing() => RunAsync(
        KillInstance("export"),
        KillInstance("ingest"),
        KillInstance("stream"),
        StopAndStart("messaging", TimeSpan.FromSeconds(10), "broker stopped 10 s"),
        StopAndStart("storage", TimeSpan.FromSeconds(20), "S3 server down 20 s"));

    [Fact]
    [Trait("Category", "Chaos")]
    public Task Long_suite_every_fault_one_at_a_time_loses_and_duplicates_nothing() => RunAsync(
        KillInstance("export"),
        KillDuringStartUp("export"),
        KillInstance("ingest"),
        KillDuringStartUp("ingest"),
        KillInstance("stream"),
        KillInstance("profile"),
        KillInstance("audit"),
        KillInstance("telephony"),
        FreezeInstance("ingest", TimeSpan.FromSeconds(20)),
        StopAndStart("messaging", TimeSpan.FromSeconds(25), "broker stopped 25 s"),
        FreezeDatabase(TimeSpan.FromSeconds(10)),
        RestartDatabase(),
        StopAndStart("storage", TimeSpan.FromSeconds(60), "S3 server down 60 s"));

    private async Task RunAsync(params Fault[] faults)
    {
        var run = Stopwatch.StartNew();
        await using var system = _system = await AspireSystem.StartAsync(Replicas);
        Log($"system started with {Replicas} instances of every service in {run.Elapsed.TotalSeconds:F0} s");
        await AllHealthyAsync("after the start");
        Log($"every instance healthy {run.Elapsed.TotalSeconds:F0} s after the start: {await ServiceProcesses.DescribeAsync(system.SigningKey)}");
        using var watching = new CancellationTokenSource();
        _watch = new ResourceWatch(system.App);
        var watcher = Watch.WatchAsync(watching.Token);

        var client = new CallLogsClient(system);
        var area = await client.CreateAreaAsync();
        var bucket = await client.NewBucketAsync();
        var hour = new DateTimeOffset(DateTime.UtcNow.Date.AddHours(DateTime.UtcNow.Hour + 1), TimeSpan.Zero); // closed for export (two hours ahead)
        var profiles = new List<Guid> { await client.CreateProfileAsync(area, bucket, hour) };
        var subscribeAddress = await client.CreateStreamChannelAsync(area);
        await using var subscribers = new LiveSubscribers(() => Volatile.Read(ref subscribeAddress), StreamPlaces + 1);
        var (renames, rotations) = (0, 0);

        _gateway = new Gateway(system, area, hour);
        using var stopPosting = new CancellationTokenSource();
        var posting = Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Gateway.RunAsync(stopPosting.Token)));
        await Eventually.Until(() => Gateway.AcceptedBatches >= 5 && subscribers.Received.Count > 0, TimeSpan.FromSeconds(60),
            "the gateway's first batches accepted and seen by a subscriber");

        var lastEnd = DateTimeOffset.UtcNow;
        foreach (var (fault, number) in faults.Select((f, i) => (f, i + 1)))
        {
            Log($"fault {number}: {fault.Name}; {Gateway.Summary}; {subscribers.Summary}");
            lastEnd = await fault.InjectAsync();
            await ReportRecoveryAsync(fault.Name, lastEnd);

            // The admin at work between faults: a second profile, then its renames; a new stream token each time.
            if (profiles.Count == 1)
            {
                profiles.Add(await client.CreateProfileAsync(area, bucket, hour));
            }
            else
            {
                await client.RenameProfileAsync(area, profiles[1], $"E2E renamed {++renames}");
            }

            Volatile.Write(ref subscribeAddress, await client.RotateStreamTokenAsync(area));
            rotations++;
        }

        await Eventually.Until(() => subscribers.LastFrame > lastEnd && subscribers.Open == StreamPlaces, TimeSpan.FromSeconds(60),
            "five subscribers connected and receiving after the last fault");
        await stopPosting.CancelAsync();
        await posting;
        Log($"posting stopped: {Gateway.Summary}; {subscribers.Summary}");
        Assert.Empty(Gateway.Refusals);

        // Every accepted record exported exactly once to each profile and stored once, read through S3 and the public API only.
        var accepted = Gateway.Accepted;
        foreach (var profile in profiles)
        {
            var started = Stopwatch.StartNew();
            var exported = new List<string>();
            try
            {
                await Eventually.Until(async () =>
                    {
                        exported = await client.ExportedLinesAsync(bucket, area, profile, hour);
                        var ids = exported.Select(line => line.Split(',')[0]).ToHashSet();
                        return accepted.Keys.All(ids.Contains);
                    },
                    TimeSpan.FromSeconds(180), $"every accepted record exported for profile {profile}");
            }
            catch (TimeoutException e)
            {
                Log(e.Message);
            }

            var counts = exported.Select(line => line.Split(',')[0]).Where(Gateway.Posted.ContainsKey).GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
            Log($"profile {profile}: {counts.Count} distinct records exported in {exported.Count} lines (all {started.Elapsed.TotalSeconds:F0} s after " +
                $"the check began); exported though never answered 200: {counts.Keys.Count(id => !accepted.ContainsKey(id))}");
            AssertOnce("exported", accepted, counts);
        }

        var stored = (await client.StoredRequestIdsAsync(area, hour, hour.AddHours(1))).GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        Log($"stored: {stored.Count} distinct records, {stored.Values.Sum()} rows");
        AssertOnce("stored", accepted, stored);
        Assert.All(stored.Keys, id => Assert.True(Gateway.Posted.ContainsKey(id), $"stored record {id} was never posted"));

        // The subscribers: never more than the channel's places at once, every frame well formed, only this area's records.
        Log($"subscribers refused: {subscribers.Refused}");
        Assert.Empty(subscribers.Malformed);
        Assert.InRange(subscribers.MaxOpen, 1, StreamPlaces);
        Assert.All(subscribers.Received.Keys, id => Assert.True(Gateway.Posted.ContainsKey(id), $"a subscriber got record {id}, which this area's gateway never posted"));

        // Each admin call audited once in the lookup and delivered once to the trail in S3.
        var expected = new Dictionary<string, int>
        {
            ["CreateExportProfile"] = profiles.Count, ["UpdateExportProfile"] = renames, ["CreateStreamChannel"] = 1, ["DisableStreamToken"] = rotations, ["CreateStreamToken"] = rotations,
        };
        var events = new List<string>();
        foreach (var (name, count) in expected)
        {
            await Eventually.Until(async () => (await client.AuditEventsAsync(area, name)).Count >= count, TimeSpan.FromSeconds(60), $"{count} {name} audited");
            var found = await client.AuditEventsAsync(area, name);
            Assert.True(found.Count == count, $"{found.Count} {name} events audited for {count} calls");
            events.AddRange(found.Select(e => e.GetProperty("eventID").GetString()!));
        }

        var trail = new List<string>();
        await Eventually.Until(async () => events.All((trail = await client.TrailEventIdsAsync()).Contains), TimeSpan.FromSeconds(120), "the admin's events delivered to the trail");
        var repeated = trail.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Log($"audit: {events.Count} admin events, all in the trail's {trail.Count} delivered records; delivered more than once: {repeated.Count}");
        Assert.Empty(repeated);

        await AllHealthyAsync("at the end");
        Log($"faults, recovery and counts:{Environment.NewLine}{string.Join(Environment.NewLine, _table)}");
        Log($"every instance healthy; {Gateway.Summary}; {subscribers.Summary}; test ran {run.Elapsed.TotalSeconds:F0} s");
        await watching.CancelAsync();
        await watcher;
    }

    private static void AssertOnce(string what, IReadOnlyDictionary<string, DateTimeOffset> accepted, Dictionary<string, int> counts)
    {
        var lost = accepted.Keys.Where(id => !counts.ContainsKey(id)).ToList();
        var duplicated = counts.Where(c => c.Value > 1).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} accepted records never {what}, e.g. " +
            string.Join("; ", lost.Take(20).Select(id => $"{id} accepted at {accepted[id]:HH:mm:ss.fff}")));
        Assert.True(duplicated.Count == 0, $"{duplicated.Count} records {what} more than once, e.g. " +
            string.Join("; ", duplicated.Take(20).Select(d => $"{d.Key} x{d.Value}")));
    }

    /// <summary>kill -9 of one instance (for ingest, while a batch is in flight), then started again.</summary>
    private Fault KillInstance(string service) => new($"kill -9 of one {service} instance", async () =>
    {
        var (id, launcher) = await Watch.InstanceAsync(service);
        var pid = ServiceProcesses.Pid(System.SigningKey, id);
        if (service == "ingest")
        {
            await Eventually.Until(() => Gateway.InFlight > 0, TimeSpan.FromSeconds(30), "a batch in flight");
        }

        Log($"  kill -9 {id} (pid {pid}, launched by {launcher}), {Gateway.InFlight} batch(es) in flight");
        Process.GetProcessById(pid).Kill();
        await StartAgainAsync(id, launcher, pid);
        return await HealthyAgainAsync(id, pid);
    });

    /// <summary>kill -9 of one instance, started again and killed again while it starts (before it answers /health), then started.</summary>
    private Fault KillDuringStartUp(string service) => new($"kill -9 of one {service} instance during its start-up", async () =>
    {
        var (id, launcher) = await Watch.InstanceAsync(service);
        var pid = ServiceProcesses.Pid(System.SigningKey, id);
        Process.GetProcessById(pid).Kill();
        await StartAgainAsync(id, launcher, pid);
        var starting = await Eventually.Get(() => Task.FromResult(ServiceProcesses.Instances(System.SigningKey).SingleOrDefault(i => i.Id == id && i.Pid != pid)),
            i => i is not null, TimeSpan.FromSeconds(60), $"{id} starting again");
        var answered = await ServiceProcesses.IsHealthyAsync(starting!);
        Log($"  kill -9 {id} during its start-up (pid {starting!.Pid}; {(answered ? "it already answered /health" : "before it answered /health")})");
        var relauncher = Watch.Pid(id) ?? launcher;
        Process.GetProcessById(starting.Pid).Kill();
        await StartAgainAsync(id, relauncher, starting.Pid);
        return await HealthyAgainAsync(id, starting.Pid);
    });

    /// <summary>One instance stopped (SIGSTOP) for a while, as one cut off from the network looks to its clients, then continued.</summary>
    private Fault FreezeInstance(string service, TimeSpan duration) => new($"one {service} instance frozen {duration.TotalSeconds:F0} s", async () =>
    {
        var (id, _) = await Watch.InstanceAsync(service);
        var pid = ServiceProcesses.Pid(System.SigningKey, id);
        Log($"  SIGSTOP {id} (pid {pid})");
        await ServiceProcesses.SignalAsync("STOP", [pid]);
        try
        {
            await Task.Delay(duration); // the fault's length, not synchronisation
        }
        finally
        {
            await ServiceProcesses.SignalAsync("CONT", [pid]);
        }

        return DateTimeOffset.UtcNow;
    });

    /// <summary>A server resource stopped with Aspire's stop command, left down for a while with the load on, then started.</summary>
    private Fault StopAndStart(string resource, TimeSpan downFor, string name) => new(name, async () =>
    {
        var stopped = await Commands.ExecuteCommandAsync(resource, KnownResourceCommands.StopCommand);
        Assert.True(stopped.Success, $"{resource} did not stop: {stopped.Message}");
        await Eventually.Until(() => Watch.State(resource) is { } s && (s == KnownResourceStates.Finished || s == KnownResourceStates.Exited), TimeSpan.FromSeconds(60), $"{resource} stopped");
        Log($"  {resource} is {Watch.State(resource)} (exit code {Watch.ExitCode(resource)})");
        await Task.Delay(downFor); // the fault's length, not synchronisation
        var started = await Commands.ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand);
        Assert.True(started.Success, $"{resource} did not start: {started.Message}");
        var end = DateTimeOffset.UtcNow;
        await Eventually.Until(() => Watch.IsHealthy(resource), Recovery, $"{resource} healthy again");
        Log($"  {resource} healthy {(DateTimeOffset.UtcNow - end).TotalSeconds:F1} s after its start");
        return end;
    });

    /// <summary>PostgreSQL frozen: the postmaster and its children stopped (SIGSTOP), then continued.</summary>
    private Fault FreezeDatabase(TimeSpan duration) => new($"PostgreSQL frozen {duration.TotalSeconds:F0} s", async () =>
    {
        var postmaster = ServiceProcesses.Postmaster(System.DataDirectory);
        var frozen = new[] { postmaster }.Concat(ServiceProcesses.ChildrenOf(postmaster)).ToArray();
        Log($"  SIGSTOP postmaster {postmaster} and its {frozen.Length - 1} children");
        await ServiceProcesses.SignalAsync("STOP", frozen);
        try
        {
            await Task.Delay(duration); // the fault's length, not synchronisation
        }
        finally
        {
            await ServiceProcesses.SignalAsync("CONT", [.. frozen.Reverse()]);
        }

        return DateTimeOffset.UtcNow;
    });

    /// <summary>PostgreSQL shut down as an operator restarting it does (fast shutdown: sessions cut, transactions rolled back), then started.</summary>
    private Fault RestartDatabase() => new("PostgreSQL restarted (fast shutdown)", async () =>
    {
        var postmaster = ServiceProcesses.Postmaster(System.DataDirectory);
        Log($"  SIGINT postmaster {postmaster}");
        await ServiceProcesses.SignalAsync("INT", [postmaster]);
        await Eventually.Until(() => !ServiceProcesses.IsRunning(postmaster) && Watch.State("postgres") != KnownResourceStates.Running, TimeSpan.FromSeconds(60), "PostgreSQL stopped");
        Log($"  postgres is {Watch.State("postgres")} (exit code {Watch.ExitCode("postgres")})");
        var started = await Commands.ExecuteCommandAsync("postgres", KnownResourceCommands.StartCommand);
        Assert.True(started.Success, $"postgres did not start: {started.Message}");
        var end = DateTimeOffset.UtcNow;
        await Eventually.Until(() => Watch.IsHealthy("postgres"), Recovery, "postgres healthy again");
        return end;
    });

    /// <summary>
    /// Waits for the killed instance to be seen dead, or started again by DCP itself (a new process of the instance
    /// running), else starts it with the resource's start command.
    /// </summary>
    /// <param name="launcher">The process DCP started for the instance (its snapshot's executable.pid; sometimes the service itself).</param>
    private async Task StartAgainAsync(string id, int launcher, int killed)
    {
        bool Replaced() => Watch.State(id) == KnownResourceStates.Running && Watch.Pid(id) is { } p && p != launcher && p != killed
            && ServiceProcesses.Instances(System.SigningKey).Any(i => i.Id == id && i.Pid != killed);
        await Eventually.Until(() => Watch.State(id) != KnownResourceStates.Running || Replaced(), TimeSpan.FromSeconds(60), $"{id} seen dead");
        if (Replaced())
        {
            Log($"  DCP started {id} again by itself (pid {Watch.Pid(id)})");
            return;
        }

        Log($"  {id} is {Watch.State(id)} (exit code {Watch.ExitCode(id)}): {KnownResourceCommands.StartCommand}");
        var result = await Commands.ExecuteCommandAsync(id, KnownResourceCommands.StartCommand);
        Assert.True(result.Success, $"{KnownResourceCommands.StartCommand} {id} failed: {result.Message}");
    }

    /// <summary>Returns when the instance was started again (the fault's end), once its new process answers /health.</summary>
    private async Task<DateTimeOffset> HealthyAgainAsync(string id, int killed)
    {
        var end = DateTimeOffset.UtcNow;
        ServiceInstance? again = null;
        await Eventually.Until(async () => (again = ServiceProcesses.Instances(System.SigningKey).SingleOrDefault(i => i.Id == id && i.Pid != killed)) is not null
            && await ServiceProcesses.IsHealthyAsync(again), Recovery, $"{id} healthy again");
        Log($"  {id} healthy again {(DateTimeOffset.UtcNow - end).TotalSeconds:F1} s after its start (pid {again!.Pid})");
        return end;
    }

    /// <summary>Waits for a batch sent after the fault's end to be accepted and for every instance to be healthy; records both delays.</summary>
    private async Task ReportRecoveryAsync(string fault, DateTimeOffset end)
    {
        var accepted = await Eventually.Get(() => Task.FromResult(Gateway.FirstAcceptedSentAfter(end)), a => a is not null, Recovery, $"a batch accepted after {fault}");
        await AllHealthyAsync($"after {fault}");
        var healthy = DateTimeOffset.UtcNow;
        var row = $"| {fault} | {(accepted!.Value - end).TotalSeconds:F1} s | {(healthy - end).TotalSeconds:F1} s | {Gateway.Accepted.Count} |";
        _table.Add(row);
        Log($"{fault}: a batch accepted {(accepted.Value - end).TotalSeconds:F1} s after the fault ended, every instance healthy after {(healthy - end).TotalSeconds:F1} s; {Gateway.Summary}");
    }

    private async Task AllHealthyAsync(string when)
    {
        try
        {
            await Eventually.Until(() => ServiceProcesses.AllHealthyAsync(System.SigningKey, Replicas), Recovery, $"every instance of every service answering its own /health {when}");
        }
        catch (TimeoutException)
        {
            Log($"not every instance healthy {when}: {await ServiceProcesses.DescribeAsync(System.SigningKey)}");
            throw;
        }
    }

    private void Log(string message) => output.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {message}");
}
