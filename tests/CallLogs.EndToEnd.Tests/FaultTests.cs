using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit.Abstractions;

namespace CallLogs.EndToEnd.Tests;

/// <summary>
/// Issue 18's reliability suite: the whole system with two instances of every service, a gateway posting all along,
/// and faults injected one at a time (a killed export instance, a killed ingest instance, the broker stopped and
/// started, the database frozen). Every record the gateway saw accepted must be exported exactly once.
/// Run with <c>./build.sh chaos</c>; <c>./build.sh test</c> leaves it out.
/// </summary>
[Collection(AppHostCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class FaultTests(ITestOutputHelper output)
{
    private const int Replicas = 2;
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(5) };
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Killed_instances_a_restarted_broker_and_a_frozen_database_lose_and_duplicate_no_accepted_record()
    {
        var run = Stopwatch.StartNew();
        await using var system = await AspireSystem.StartAsync(Replicas);
        Log($"system started with {Replicas} instances of every service in {run.Elapsed.TotalSeconds:F0} s");
        var key = system.SigningKey;
        // AspireSystem returns once Aspire reports its instances healthy; Aspire probes a service through the address both
        // instances share, so each instance's own /health is what tells.
        try
        {
            await Eventually.Until(() => AllHealthyAsync(key), Recovery, "every instance of every service answering its own /health");
        }
        catch (TimeoutException)
        {
            Log($"not every instance healthy after the start: {await DescribeAsync(key)}");
            throw;
        }

        Log($"every instance healthy {run.Elapsed.TotalSeconds:F0} s after the start: {await DescribeAsync(key)}");
        using var watching = new CancellationTokenSource();
        var resources = new Resources(system.App);
        var watcher = resources.WatchAsync(watching.Token);

        var client = new CallLogsClient(system);
        var area = await client.CreateAreaAsync();
        var bucket = await client.NewBucketAsync();
        var hour = new DateTimeOffset(DateTime.UtcNow.Date.AddHours(DateTime.UtcNow.Hour + 1), TimeSpan.Zero); // closed for export (two hours ahead)
        var profile = await client.CreateProfileAsync(area, bucket, hour);

        var gateway = new Gateway(system, area, hour);
        using var stopPosting = new CancellationTokenSource();
        var posting = Task.WhenAll(Enumerable.Range(0, 2).Select(_ => gateway.RunAsync(stopPosting.Token)));
        await Eventually.Until(() => gateway.AcceptedBatches >= 5, TimeSpan.FromSeconds(60), "the gateway's first batches accepted");
        var commands = system.App.ResourceCommands;

        // 1. kill -9 of one export instance.
        {
            var (id, launcher) = await resources.InstanceAsync("export");
            var pid = ServiceProcess(key, id);
            Log($"fault 1: kill -9 export instance {id} (pid {pid}, launched by {launcher}); {gateway.Summary}");
            Process.GetProcessById(pid).Kill();
            var end = await RestartAsync(resources, commands, key, id, launcher, pid);
            await ReportRecoveryAsync("fault 1 (export instance killed)", key, gateway, end);
        }

        // 2. kill -9 of one ingest instance with batches in flight.
        {
            var (id, launcher) = await resources.InstanceAsync("ingest");
            var pid = ServiceProcess(key, id);
            await Eventually.Until(() => gateway.InFlight > 0, TimeSpan.FromSeconds(30), "a batch in flight");
            Log($"fault 2: kill -9 ingest instance {id} (pid {pid}, launched by {launcher}) with {gateway.InFlight} batch(es) in flight; {gateway.Summary}");
            Process.GetProcessById(pid).Kill();
            var end = await RestartAsync(resources, commands, key, id, launcher, pid);
            await ReportRecoveryAsync("fault 2 (ingest instance killed)", key, gateway, end);
        }

        // 3. The broker stopped and started again (same node, same data folder).
        {
            Log($"fault 3: stopping messaging; {gateway.Summary}");
            var stopped = await commands.ExecuteCommandAsync("messaging", KnownResourceCommands.StopCommand);
            Assert.True(stopped.Success, $"messaging did not stop: {stopped.Message}");
            await Eventually.Until(() => resources.State("messaging") is { } s && (s == KnownResourceStates.Finished || s == KnownResourceStates.Exited), TimeSpan.FromSeconds(60), "messaging stopped");
            Log($"fault 3: messaging is {resources.State("messaging")} (exit code {resources.ExitCode("messaging")}); letting the gateway run against it");
            await Task.Delay(TimeSpan.FromSeconds(10)); // load during the fault, not synchronisation
            Log($"fault 3: starting messaging; {gateway.Summary}");
            var started = await commands.ExecuteCommandAsync("messaging", KnownResourceCommands.StartCommand);
            Assert.True(started.Success, $"messaging did not start: {started.Message}");
            var end = DateTimeOffset.UtcNow;
            await Eventually.Until(() => resources.IsHealthy("messaging"), Recovery, "messaging healthy again");
            Log($"fault 3: messaging healthy {(DateTimeOffset.UtcNow - end).TotalSeconds:F1} s after its start");
            await ReportRecoveryAsync("fault 3 (broker stopped and started)", key, gateway, end);
        }

        // 4. PostgreSQL frozen: the postmaster and its children stopped (SIGSTOP) for ten seconds, then continued.
        {
            var postmaster = Postmaster(system.DataDirectory);
            Log($"  postgres: postmaster {postmaster}, DCP's process {resources.Pid("postgres")}");
            var frozen = new[] { postmaster }.Concat(ChildrenOf(postmaster)).ToArray();
            Log($"fault 4: freezing PostgreSQL (postmaster {postmaster}, {frozen.Length - 1} children); {gateway.Summary}");
            await SignalAsync("STOP", frozen);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(10)); // load during the fault, not synchronisation
            }
            finally
            {
                await SignalAsync("CONT", [.. frozen.Reverse()]);
            }

            await ReportRecoveryAsync("fault 4 (database frozen 10 s)", key, gateway, DateTimeOffset.UtcNow);
        }

        await stopPosting.CancelAsync();
        await posting;
        Log($"posting stopped: {gateway.Summary}");
        Assert.Empty(gateway.Refusals);

        // Every accepted record exported exactly once, read back from S3 only.
        var accepted = gateway.Accepted;
        var exported = new List<string>();
        var exportStarted = Stopwatch.StartNew();
        try
        {
            await Eventually.Until(async () =>
                {
                    exported = await client.ExportedLinesAsync(bucket, area, profile, hour);
                    var ids = exported.Select(line => line.Split(',')[0]).ToHashSet();
                    return accepted.Keys.All(ids.Contains);
                },
                TimeSpan.FromSeconds(180), "every accepted record exported");
        }
        catch (TimeoutException e)
        {
            Log(e.Message);
        }

        var counts = exported.Select(line => line.Split(',')[0]).Where(gateway.Posted.ContainsKey).GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        var lost = accepted.Keys.Where(id => !counts.ContainsKey(id)).ToList();
        var duplicated = counts.Where(c => c.Value > 1).ToList();
        var unacceptedButExported = counts.Keys.Count(id => !accepted.ContainsKey(id));
        Log($"posted {gateway.Posted.Count}, accepted {accepted.Count}, exported {counts.Count} distinct in {exported.Count} lines " +
            $"(all exported {exportStarted.Elapsed.TotalSeconds:F0} s after posting stopped), duplicated {duplicated.Count}, lost {lost.Count}, " +
            $"exported though never answered 200: {unacceptedButExported}");
        Assert.True(lost.Count == 0, $"{lost.Count} accepted records never exported, e.g. " +
            string.Join("; ", lost.Take(20).Select(id => $"{id} accepted at {accepted[id]:HH:mm:ss.fff}")));
        Assert.True(duplicated.Count == 0, $"{duplicated.Count} records exported more than once, e.g. " +
            string.Join("; ", duplicated.Take(20).Select(d => $"{d.Key} x{d.Value} (accepted at {(accepted.TryGetValue(d.Key, out var at) ? at.ToString("HH:mm:ss.fff") : "never")})")));

        await Eventually.Until(async () => (await client.AuditEventsAsync(area, "CreateExportProfile")).Count > 0, TimeSpan.FromSeconds(60), "the profile's creation audited");
        Assert.Single(await client.AuditEventsAsync(area, "CreateExportProfile"));
        await Eventually.Until(() => AllHealthyAsync(key), Recovery, "every service instance healthy");
        Log($"every instance healthy: {await DescribeAsync(key)}");

        await watching.CancelAsync();
        await watcher;
        Log($"test ran {run.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>
    /// After a kill: waits briefly to see whether DCP starts the instance again by itself, else starts it with the
    /// resource's start command. Returns when the instance runs again (the end of the fault).
    /// </summary>
    /// <param name="launcher">The process DCP started for the instance (its snapshot's executable.pid).</param>
    private async Task<DateTimeOffset> RestartAsync(Resources resources, ResourceCommandService commands, string key, string id, int launcher, int killed)
    {
        await Eventually.Until(() => resources.Pid(id) != launcher || resources.State(id) != KnownResourceStates.Running, TimeSpan.FromSeconds(60), $"{id} seen dead");
        Log($"  {id} after the kill: state {resources.State(id)}, exit code {resources.ExitCode(id)}");
        try
        {
            await Eventually.Until(() => resources.State(id) == KnownResourceStates.Running && resources.Pid(id) is { } p && p != launcher, TimeSpan.FromSeconds(5));
            Log($"  DCP started {id} again by itself (pid {resources.Pid(id)})");
        }
        catch (TimeoutException)
        {
            Log($"  DCP did not start {id} again within 5 s (state {resources.State(id)}): running {KnownResourceCommands.StartCommand}");
            var result = await commands.ExecuteCommandAsync(id, KnownResourceCommands.StartCommand);
            Assert.True(result.Success, $"{KnownResourceCommands.StartCommand} {id} failed: {result.Message}");
        }

        var end = DateTimeOffset.UtcNow;
        Instance? again = null;
        await Eventually.Until(async () => (again = ServiceInstances(key).SingleOrDefault(i => i.Id == id && i.Pid != killed)) is not null && await IsHealthyAsync(again),
            Recovery, $"{id} healthy again");
        Log($"  {id} healthy again {(DateTimeOffset.UtcNow - end).TotalSeconds:F1} s after its restart (pid {again!.Pid})");
        return end;
    }

    /// <summary>Waits for a batch sent after the fault's end to be accepted and every instance to be healthy; logs both delays.</summary>
    private async Task ReportRecoveryAsync(string fault, string key, Gateway gateway, DateTimeOffset end)
    {
        var accepted = await Eventually.Get(() => Task.FromResult(gateway.FirstAcceptedSentAfter(end)), a => a is not null, Recovery,
            $"a batch accepted after {fault}");
        try
        {
            await Eventually.Until(() => AllHealthyAsync(key), Recovery, $"every service instance healthy after {fault}");
        }
        catch (TimeoutException)
        {
            Log($"{fault}: not every instance healthy again: {await DescribeAsync(key)}");
            throw;
        }

        var healthy = DateTimeOffset.UtcNow;
        Log($"{fault}: a batch accepted {(accepted!.Value - end).TotalSeconds:F1} s after the fault ended, every instance healthy after " +
            $"{(healthy - end).TotalSeconds:F1} s; {gateway.Summary}");
    }

    private sealed record Instance(string Service, string Id, int Pid, Uri Url);

    /// <summary>
    /// The service processes of this run, found by the signing key in their environment, with the address each
    /// listens on itself (behind DCP's proxy). DCP's snapshot names the process it started (executable.pid), which
    /// launches the service as a child with the same environment: killing that one leaves the service running,
    /// orphaned. So an instance is the process of its kind with no matching child.
    /// </summary>
    private static List<Instance> ServiceInstances(string signingKey)
    {
        var found = new Dictionary<int, (Instance Instance, int Parent)>();
        foreach (var pid in Pids())
        {
            try
            {
                var environment = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
                if (!environment.Contains($"Auth__SigningKey={signingKey}"))
                {
                    continue;
                }

                string? Variable(string name) => environment.FirstOrDefault(v => v.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];
                var service = Variable("OTEL_SERVICE_NAME");
                var instance = Variable("OTEL_RESOURCE_ATTRIBUTES")?.Split(',').FirstOrDefault(a => a.StartsWith("service.instance.id=", StringComparison.Ordinal))?["service.instance.id=".Length..];
                var url = Variable("ASPNETCORE_URLS")?.Split(';')[0];
                if (service is not null && instance is not null && url is not null)
                {
                    found[pid] = (new Instance(service, $"{service}-{instance}", pid, new Uri(url)), ParentOf(pid));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours.
            }
        }

        return [.. found.Where(f => !found.Values.Any(other => other.Parent == f.Key)).Select(f => f.Value.Instance)];
    }

    private static int ServiceProcess(string signingKey, string id) =>
        ServiceInstances(signingKey).SingleOrDefault(i => i.Id == id)?.Pid ?? throw new InvalidOperationException($"No process of {id} found.");

    private static async Task<bool> IsHealthyAsync(Instance instance)
    {
        try
        {
            using var response = await Probe.GetAsync(new Uri(instance.Url, "/health"));
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>Two instances of every service, each answering its own /health with success.</summary>
    private static async Task<bool> AllHealthyAsync(string signingKey)
    {
        var instances = ServiceInstances(signingKey);
        return AspireSystem.Services.All(s => instances.Count(i => i.Service == s) == Replicas)
            && (await Task.WhenAll(instances.Select(IsHealthyAsync))).All(healthy => healthy);
    }

    private static async Task<string> DescribeAsync(string signingKey)
    {
        var instances = ServiceInstances(signingKey).OrderBy(i => i.Id).ToList();
        var health = await Task.WhenAll(instances.Select(IsHealthyAsync));
        return string.Join(", ", instances.Select((i, n) => $"{i.Id} (pid {i.Pid}) {(health[n] ? "healthy" : "NOT healthy")}"));
    }

    /// <summary>The PostgreSQL server started from the run's data folder (its children name no folder on their command line).</summary>
    private static int Postmaster(string dataDirectory)
    {
        var servers = Pids().Where(pid =>
        {
            try
            {
                var command = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
                return command[0].EndsWith("/bin/postgres", StringComparison.Ordinal) && command.Any(a => a.StartsWith(dataDirectory, StringComparison.Ordinal));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }).ToList();
        return servers.Count == 1 ? servers[0] : throw new InvalidOperationException($"{servers.Count} PostgreSQL servers run from {dataDirectory}.");
    }

    private static IEnumerable<int> Pids() =>
        Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0).Where(pid => pid > 0);

    private static int ParentOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]); // after the name: state, ppid, ...
    }

    private void Log(string message) => output.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {message}");

    /// <summary>The direct children of a process (PostgreSQL's backends and background workers).</summary>
    private static List<int> ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (var pid in Pids())
        {
            try
            {
                if (ParentOf(pid) == parent)
                {
                    children.Add(pid);
                }
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
        }

        return children;
    }

    private static async Task SignalAsync(string signal, IEnumerable<int> pids)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", .. pids.Select(p => p.ToString())]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
    }

    /// <summary>The latest snapshot of every resource instance, kept up to date from the AppHost's notifications.</summary>
    private sealed class Resources(DistributedApplication app)
    {
        private readonly ConcurrentDictionary<string, ResourceEvent> _latest = new();

        public async Task WatchAsync(CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var update in app.ResourceNotifications.WatchAsync(cancellationToken))
                {
                    _latest[update.ResourceId] = update;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private ResourceEvent? Find(string idOrName) =>
            _latest.TryGetValue(idOrName, out var byId) ? byId : _latest.Values.SingleOrDefault(e => e.Resource.Name == idOrName);

        public string? State(string id) => Find(id)?.Snapshot.State?.Text;

        public int? ExitCode(string id) => Find(id)?.Snapshot.ExitCode;

        public bool IsHealthy(string id) => Find(id)?.Snapshot is { } s && s.State?.Text == KnownResourceStates.Running && s.HealthStatus == HealthStatus.Healthy;

        public int? Pid(string id) => Find(id)?.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value switch
        {
            int pid => pid,
            long pid => (int)pid,
            string text when int.TryParse(text, out var pid) => pid,
            _ => null,
        };

        /// <summary>One running, healthy instance of a service (the first by id), with the id of the process DCP started for it.</summary>
        public async Task<(string Id, int Launcher)> InstanceAsync(string service)
        {
            await Eventually.Until(() => Instances(service).Any(e => IsHealthy(e.ResourceId) && Pid(e.ResourceId) is not null), Recovery, $"a healthy {service} instance");
            var instance = Instances(service).Where(e => IsHealthy(e.ResourceId)).OrderBy(e => e.ResourceId).First();
            return (instance.ResourceId, Pid(instance.ResourceId)!.Value);
        }

        private IEnumerable<ResourceEvent> Instances(string service) => _latest.Values.Where(e => e.Resource is ProjectResource && e.Resource.Name == service);
    }

    /// <summary>
    /// A gateway as real ones behave: batches of new records, each sent until it is answered 200; a 503 or 429 is
    /// retried after Retry-After, a timeout or a broken connection after a second, always with the same batch (ingest
    /// is idempotent by request_uuid). A new connection per request, so the batches spread over both ingest instances.
    /// </summary>
    private sealed class Gateway(AspireSystem system, Guid area, DateTimeOffset hour)
    {
        private const int BatchSize = 25;
        private readonly string _token = system.Tokens.Issue(Roles.Ingest, area, "e2e-gateway", lifetime: TimeSpan.FromHours(2));
        private readonly ConcurrentQueue<(DateTimeOffset Sent, DateTimeOffset Answered)> _acceptedBatches = new();
        private int _sequence;
        private int _inFlight;
        private int _retries;

        public ConcurrentDictionary<string, byte> Posted { get; } = new();

        /// <summary>The records answered 200, with the time of the answer.</summary>
        public ConcurrentDictionary<string, DateTimeOffset> Accepted { get; } = new();

        public ConcurrentQueue<string> Refusals { get; } = new();

        public int AcceptedBatches => _acceptedBatches.Count;

        public int InFlight => Volatile.Read(ref _inFlight);

        public string Summary => $"gateway: {Posted.Count} posted, {Accepted.Count} accepted in {AcceptedBatches} batches, {Volatile.Read(ref _retries)} retries";

        public DateTimeOffset? FirstAcceptedSentAfter(DateTimeOffset time) =>
            _acceptedBatches.Where(b => b.Sent >= time).Select(b => (DateTimeOffset?)b.Answered).Min();

        public async Task RunAsync(CancellationToken stop)
        {
            using var http = system.Client("ingest", _token);
            http.Timeout = TimeSpan.FromSeconds(15);
            while (!stop.IsCancellationRequested)
            {
                var batch = Enumerable.Range(0, BatchSize).Select(_ =>
                {
                    var record = CallLogsClient.Record(hour.AddSeconds(Interlocked.Increment(ref _sequence) % 3600));
                    Posted[(string)record["request_uuid"]] = 0;
                    return record;
                }).ToList();
                await SendUntilAcceptedAsync(http, batch);
                await Task.Delay(TimeSpan.FromMilliseconds(200), CancellationToken.None); // a gateway's pace, not synchronisation
            }
        }

        private async Task SendUntilAcceptedAsync(HttpClient http, List<Dictionary<string, object>> batch)
        {
            var giveUp = DateTimeOffset.UtcNow.AddMinutes(3);
            while (DateTimeOffset.UtcNow < giveUp)
            {
                var sent = DateTimeOffset.UtcNow;
                TimeSpan wait;
                Interlocked.Increment(ref _inFlight);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/areas/{area}/call-records") { Content = JsonContent.Create(batch) };
                    request.Headers.ConnectionClose = true;
                    using var response = await http.SendAsync(request);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        var answered = DateTimeOffset.UtcNow;
                        foreach (var record in batch)
                        {
                            Accepted.TryAdd((string)record["request_uuid"], answered);
                        }

                        _acceptedBatches.Enqueue((sent, answered));
                        return;
                    }

                    if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway))
                    {
                        Refusals.Enqueue($"{sent:HH:mm:ss.fff} {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                        return;
                    }

                    wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    wait = TimeSpan.FromSeconds(1); // timeout, refused or broken connection: the batch may or may not have been taken
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }

                Interlocked.Increment(ref _retries);
                await Task.Delay(wait, CancellationToken.None);
            }

            Refusals.Enqueue($"a batch of {batch.Count} records not accepted within 3 minutes of retries");
        }
    }
}
