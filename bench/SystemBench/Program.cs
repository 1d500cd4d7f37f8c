// System benchmark (issue 20): the whole system started through the real AppHost, driven by gateways at a rate that
// ramps up step by step, until a step is no longer bounded (accepted rate below target, ingest deferring, or a
// RabbitMQ queue growing); then the highest bounded rate is held for the sustained phase. Reports, per step and for
// the sustained phase: accepted rate, deferred batches, queue depths, subscriber latency; then the export lag of a
// sample of profiles, CPU per record and peak memory per process, and the raw broker and raw COPY rates measured
// after the system is stopped. Results in docs/benchmarks.md (section "system-bench") and on the console.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using CallLogs.Bench.SystemBench;
using CallLogs.EndToEnd.Tests;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Storage;
using CallLogs.Testing;
using static CallLogs.Bench.SystemBench.Progress;

using var abort = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    Log("Ctrl+C: stopping the run and the system (no report is written)");
    abort.Cancel();
};

try
{
    var settings = Settings.FromEnvironment();
    Log($"system benchmark: {settings.Describe()}");
    var run = await RunSystemAsync(settings, abort.Token);
    Log("system stopped; measuring the baselines on private servers");
    var baselines = await Baselines.MeasureAsync(settings.BaselineRecords, settings.BatchSize, settings.Concurrency, (int)run.Sustained.Target);
    var markdown = Report.Markdown(settings, run, baselines);
    Console.WriteLine();
    Console.WriteLine(markdown);
    await BenchmarkReport.WriteSectionAsync("system-bench", markdown);
    return 0;
}
catch (OperationCanceledException) when (abort.IsCancellationRequested)
{
    Log("stopped by Ctrl+C");
    return 130;
}
catch (Exception e)
{
    Log($"FAILED: {e.GetType().Name}: {e.Message}");
    Console.Error.WriteLine(e);
    return 1;
}

static async Task<SystemResult> RunSystemAsync(Settings settings, CancellationToken abort)
{
    var clock = Stopwatch.StartNew();
    Log($"starting the system through the AppHost ({settings.Replicas} instance(s) of every service, servers as executables); this takes a few minutes");
    // Export polls at its default (ExportOptions.PollInterval, every 10 s), not every second as in the end-to-end tests.
    await using var system = await AspireSystem.StartAsync(settings.Replicas, exportPollInterval: TimeSpan.FromSeconds(10));
    var startUp = clock.Elapsed;
    var processes = await ServiceProcesses.DescribeAsync(system.SigningKey);
    Log($"system started in {startUp.TotalSeconds:F0} s: {processes}");

    var current = new CurrentPhase(new Phase("setup", 0));
    await using var sampler = await Sampler.StartAsync(system, current);
    Log($"processes measured: {sampler.Describe()}");

    // Areas, a bucket and five export profiles each, stream channels with their subscribers (every call audited).
    var client = new CallLogsClient(system);
    var firstHour = Records.HourUnderTest(DateTimeOffset.UtcNow);
    Log($"setup: {Settings.Areas} areas, {Settings.ProfilesPerArea} export profiles each collecting from {firstHour:yyyy-MM-dd HH}:00 UTC (the hour under test)");
    var areas = new List<(Guid Area, string Bucket)>();
    for (var i = 0; i < Settings.Areas; i++)
    {
        areas.Add((await client.CreateAreaAsync(), await client.NewBucketAsync()));
    }

    var profiles = await Task.WhenAll(areas.Select(async a =>
    {
        var created = new List<Guid>();
        for (var i = 0; i < Settings.ProfilesPerArea; i++)
        {
            created.Add(await client.CreateProfileAsync(a.Area, a.Bucket, firstHour));
        }

        return created;
    }));
    Log($"setup: {profiles.Sum(p => p.Count)} export profiles created, each known to the export service");

    var channels = new List<Uri>();
    foreach (var (area, _) in areas.Take(Settings.StreamAreas))
    {
        channels.Add(await client.CreateStreamChannelAsync(area));
    }

    await using var subscribers = new Subscribers([.. channels.SelectMany(c => Enumerable.Repeat(c, Settings.SubscribersPerChannel))], current);
    try
    {
        await Eventually.Until(() => subscribers.Open == subscribers.Count, TimeSpan.FromSeconds(60));
    }
    catch (TimeoutException)
    {
        throw new InvalidOperationException($"Not every WebSocket subscriber connected to the stream service within 60 s ({subscribers.Summary}); see the subscriber lines above.");
    }

    Log($"setup: stream channels on {channels.Count} areas; {subscribers.Summary}");

    // A sample of profiles (areas 1, 5, 9, 13, 17; a different profile of each) read from S3 as their objects appear.
    using var s3 = S3Settings.Parse(await system.ConnectionStringAsync("storage")).CreateClient();
    var watches = Enumerable.Range(0, Settings.SampledProfiles)
        .Select(i => i * (Settings.Areas / Settings.SampledProfiles))
        .Select(a => new ExportWatch(s3, areas[a].Bucket, areas[a].Area, profiles[a][a % Settings.ProfilesPerArea], a + 1))
        .ToList();
    using var stopWatching = new CancellationTokenSource();
    var watching = WatchAsync(watches, stopWatching.Token);

    var tokens = areas.Select(a => (a.Area, system.Tokens.Issue(Roles.Ingest, a.Area, "bench-gateway", lifetime: TimeSpan.FromHours(12)))).ToList();
    await using var gateways = new Gateways(system.Url("ingest"), tokens, current, settings.Concurrency, settings.BatchSize);

    // The ramp: up to the first step that is not bounded.
    var steps = new List<PhaseResult>();
    for (var i = 0; i < settings.Rates.Count; i++)
    {
        var step = await RunPhaseAsync($"step {i + 1}", settings.Rates[i], settings.Step, current, gateways, sampler, subscribers, abort);
        steps.Add(step);
        Log(Describe(step));
        if (!step.Bounded)
        {
            Log($"step {i + 1} is not bounded: the ramp stops here");
            break;
        }
    }

    var bounded = steps.Where(s => s.Bounded).ToList();
    var sustainedRate = bounded.Count > 0 ? bounded.Max(s => s.Target) : settings.Rates.Min();
    Log(bounded.Count > 0
        ? $"sustained rate: {Num(sustainedRate)} records/s (the highest bounded step)"
        : $"WARNING: no step was bounded; the sustained phase runs at the lowest rate, {Num(sustainedRate)} records/s");

    gateways.SetRate(0);
    current.Value = new Phase("drain", 0);
    await DrainAsync(sampler, abort);

    var cpuBefore = sampler.CpuSeconds();
    var sustained = await RunPhaseAsync("sustained", sustainedRate, settings.Top, current, gateways, sampler, subscribers, abort);
    var cpuAfter = sampler.CpuSeconds();
    var nice = sampler.NiceValues();
    Log(Describe(sustained));

    current.Value = new Phase("export", 0);
    Log("posting stops (batches in flight are sent to their end)");
    await gateways.StopAsync();
    var postingEnded = DateTimeOffset.UtcNow;
    await stopWatching.CancelAsync();
    await watching;
    var lags = await ExportLagsAsync(watches, gateways, postingEnded, settings.ExportWait, abort);

    var cpu = cpuAfter.Select(c =>
    {
        var seconds = c.Value - cpuBefore.GetValueOrDefault(c.Key);
        return new CpuRow(c.Key, seconds, seconds * 1e6 / Math.Max(1, sustained.Accepted), seconds / sustained.Seconds, nice.GetValueOrDefault(c.Key, ""));
    }).ToList();
    var memory = sampler.PeakMemory();
    Log($"stopping the system; {subscribers.Summary}");
    return new SystemResult(startUp, steps, sustained, bounded.Count > 0, lags, cpu, memory,
        new SortedDictionary<DateTimeOffset, long>(gateways.AcceptedByHour), sampler.Describe());
}

static async Task<PhaseResult> RunPhaseAsync(string name, int rate, TimeSpan duration, CurrentPhase current, Gateways gateways, Sampler sampler,
    Subscribers subscribers, CancellationToken abort)
{
    var phase = new Phase(name, rate);
    current.Value = phase;
    gateways.SetRate(rate);
    Log($"{name}: {Num(rate)} records/s for {duration.TotalSeconds:F0} s");
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed < duration)
    {
        var left = duration - clock.Elapsed;
        await Task.Delay(left < TimeSpan.FromSeconds(30) ? left : TimeSpan.FromSeconds(30), abort);
        var deepest = phase.QueueSamples() is [.., var last]
            ? string.Join(", ", last.Depths.OrderByDescending(d => d.Value).Take(3).Select(d => $"{d.Key} {Num(d.Value)}"))
            : "no sample yet";
        Log($"  {name} +{clock.Elapsed.TotalSeconds:F0} s: accepted {Num(phase.Accepted / phase.Duration.TotalSeconds)}/s, {phase.Deferred} deferred, " +
            $"{phase.Errors} errors; deepest queues: {deepest}; {subscribers.Summary}");
    }

    await sampler.SampleQueuesAsync();
    phase.End();
    return PhaseResult.Of(phase);
}

static string Describe(PhaseResult p)
{
    var (deepest, depth) = p.Deepest();
    var (growing, growth) = p.FastestGrowing();
    return $"{p.Name}: target {Num(p.Target)}/s, accepted {Num(p.AcceptedPerSecond)}/s ({Num(p.Accepted)} records in {Num(p.Batches)} batches), " +
        $"{p.Deferred} deferred, {p.Errors} errors, {p.Refused} records refused; deepest queue {deepest} (max {Num(depth)}), " +
        $"fastest growing {growing} ({growth.ToString("N1", CultureInfo.InvariantCulture)} msg/s in the second half); ingest answered p50 {Num(p.Answers.P50)} ms, p99 {Num(p.Answers.P99)} ms; subscribers p50 {Num(p.Latency.P50)} ms, " +
        $"p99 {Num(p.Latency.P99)} ms over {Num(p.Latency.Count)} records ({p.Missed} missed) -> {(p.Bounded ? "BOUNDED" : "NOT BOUNDED: " + p.Verdict)}";
}

/// <summary>Waits (at most 3 minutes) until every queue but the error queues holds 100 messages or fewer.</summary>
static async Task DrainAsync(Sampler sampler, CancellationToken abort)
{
    var clock = Stopwatch.StartNew();
    while (true)
    {
        var full = (await sampler.QueueDepthsAsync())?
            .Where(q => q.Value > 100 && !q.Key.EndsWith("_error", StringComparison.Ordinal) && !q.Key.EndsWith("_skipped", StringComparison.Ordinal))
            .Select(q => $"{q.Key} {Num(q.Value)}").ToList();
        if (full is { Count: 0 })
        {
            Log($"queues drained in {clock.Elapsed.TotalSeconds:F0} s");
            return;
        }

        if (clock.Elapsed > TimeSpan.FromMinutes(3))
        {
            Log($"WARNING: queues not drained after 3 minutes ({(full is null ? "no answer from the management API" : string.Join(", ", full))}); the sustained phase starts anyway");
            return;
        }

        await Task.Delay(Sampler.Interval, abort);
    }
}

/// <summary>During the run, the sampled profiles' new objects are read every 10 s, so that the lag measured at the end is not the time to read a backlog.</summary>
static async Task WatchAsync(List<ExportWatch> watches, CancellationToken stop)
{
    while (!stop.IsCancellationRequested)
    {
        foreach (var watch in watches)
        {
            await watch.TryReadNewObjectsAsync();
        }

        try
        {
            await Task.Delay(TimeSpan.FromSeconds(10), stop);
        }
        catch (OperationCanceledException)
        {
            return;
        }
    }
}

/// <summary>Reads the sampled profiles' new objects every 2 s until each holds every record posted to its area (or the wait is over).</summary>
static async Task<List<ExportLag>> ExportLagsAsync(List<ExportWatch> watches, Gateways gateways, DateTimeOffset postingEnded, TimeSpan wait, CancellationToken abort)
{
    Log($"export lag: waiting (at most {wait.TotalSeconds:F0} s) until {watches.Count} sampled profiles hold every record posted to their area");
    var clock = Stopwatch.StartNew();
    var done = new Dictionary<ExportWatch, TimeSpan>();
    var lastLog = TimeSpan.Zero;
    while (true)
    {
        foreach (var watch in watches.Where(w => !done.ContainsKey(w)))
        {
            await watch.TryReadNewObjectsAsync();
            if (watch.Distinct >= gateways.AcceptedByArea.GetValueOrDefault(watch.Area))
            {
                done[watch] = DateTimeOffset.UtcNow - postingEnded;
                Log($"  profile of area {watch.AreaNumber}: all {Num(watch.Distinct)} records in S3 {done[watch].TotalSeconds:F0} s after posting ended");
            }
        }

        if (done.Count == watches.Count || clock.Elapsed > wait)
        {
            break;
        }

        if (clock.Elapsed - lastLog > TimeSpan.FromSeconds(30))
        {
            lastLog = clock.Elapsed;
            Log("  export: " + string.Join("; ", watches.Where(w => !done.ContainsKey(w))
                .Select(w => $"area {w.AreaNumber} {Num(w.Distinct)} of {Num(gateways.AcceptedByArea.GetValueOrDefault(w.Area))}")));
        }

        await Task.Delay(TimeSpan.FromSeconds(2), abort);
    }

    var waited = DateTimeOffset.UtcNow - postingEnded;
    return [.. watches.Select(w => new ExportLag(w.AreaNumber, w.Profile, gateways.AcceptedByArea.GetValueOrDefault(w.Area), w.Distinct, w.Lines, w.Objects,
        done.TryGetValue(w, out var after) ? after : null, waited))];
}

/// <summary>The benchmark's knobs, from environment variables (BENCH_QUICK=1: a short smoke run).</summary>
internal sealed record Settings(int Replicas, int Concurrency, int BatchSize, IReadOnlyList<int> Rates, TimeSpan Step, TimeSpan Top, TimeSpan ExportWait,
    int BaselineRecords, bool Quick)
{
    public const int Areas = 20;
    public const int ProfilesPerArea = 5;
    public const int StreamAreas = 3;
    public const int SubscribersPerChannel = 5;
    public const int SampledProfiles = 5;

    public static Settings FromEnvironment()
    {
        var quick = Environment.GetEnvironmentVariable("BENCH_QUICK") == "1";
        var rates = Environment.GetEnvironmentVariable("BENCH_RATES") is { Length: > 0 } text ? text : quick ? "1000,2000" : "1000,2000,4000,6000,8000";
        return new Settings(
            Int("BENCH_REPLICAS", 1),
            Int("BENCH_CONCURRENCY", 8),
            Int("BENCH_BATCH", 250),
            [.. rates.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(r =>
                int.TryParse(r, NumberStyles.Integer, CultureInfo.InvariantCulture, out var rate) && rate > 0
                    ? rate
                    : throw new ArgumentException($"BENCH_RATES must be positive records/s separated by commas, e.g. 1000,2000,4000; '{r}' is not one."))],
            TimeSpan.FromSeconds(Int("BENCH_STEP_SECONDS", quick ? 30 : 120)),
            TimeSpan.FromSeconds(Int("BENCH_TOP_SECONDS", quick ? 60 : 600)),
            TimeSpan.FromSeconds(Int("BENCH_EXPORT_WAIT_SECONDS", 900)),
            Int("BENCH_BASELINE_RECORDS", quick ? 100_000 : 300_000),
            quick);
    }

    public string Describe() =>
        $"{Replicas} instance(s) of every service, {Concurrency} gateway senders, batches of {BatchSize}, rates {string.Join(", ", Rates)} records/s " +
        $"for {Step.TotalSeconds:F0} s each, then the highest bounded one for {Top.TotalSeconds:F0} s; export lag waited for at most " +
        $"{ExportWait.TotalSeconds:F0} s; baselines over {BaselineRecords:N0} records{(Quick ? " (BENCH_QUICK)" : "")}. " +
        $"Expect about {(4 + Rates.Count * Step.TotalMinutes + Top.TotalMinutes + 4):F0} minutes.";

    private static int Int(string name, int fallback) =>
        Environment.GetEnvironmentVariable(name) is not { Length: > 0 } text ? fallback
        : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0 ? value
        : throw new ArgumentException($"{name} must be a positive whole number; '{text}' is not one.");
}

internal sealed record SystemResult(
    TimeSpan StartUp,
    IReadOnlyList<PhaseResult> Steps,
    PhaseResult Sustained,
    bool AnyBounded,
    IReadOnlyList<ExportLag> ExportLags,
    IReadOnlyList<CpuRow> Cpu,
    IReadOnlyList<MemoryRow> Memory,
    IReadOnlyDictionary<DateTimeOffset, long> Hours,
    string Processes);

/// <summary>The section of docs/benchmarks.md, in Markdown.</summary>
internal static class Report
{
    private static string F(double v) => double.IsNaN(v) ? "–" : v.ToString("N0", CultureInfo.InvariantCulture);

    private static string F1(double v) => double.IsNaN(v) ? "–" : v.ToString("N1", CultureInfo.InvariantCulture);

    private static string R(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);

    public static string Markdown(Settings settings, SystemResult run, BaselineRates baselines)
    {
        var phases = run.Steps.Append(run.Sustained).ToList();
        var sustained = run.Sustained;
        var text = new StringBuilder();
        text.AppendLine($"""
            ## System: sustained end-to-end throughput (issue 20)

            `dotnet run -c Release --project bench/SystemBench` — the whole system started through the AppHost (Aspire.Hosting.Testing,
            servers as executables, {settings.Replicas} instance(s) of every service, started in {run.StartUp.TotalSeconds:F0} s), {Settings.Areas} areas with
            {Settings.ProfilesPerArea} export profiles each ({Settings.Areas * Settings.ProfilesPerArea} profiles, a bucket per area), a stream channel on
            {Settings.StreamAreas} areas with {Settings.SubscribersPerChannel} WebSocket subscribers each, audit on. {settings.Concurrency} gateway senders post
            JSON batches of {settings.BatchSize} records (most fields filled, a new request_uuid each) round-robin over the areas, paced
            by a token bucket at the step's target rate; a 503 or 429 is retried with the same batch after its Retry-After ("deferred").
            The export service runs two hours ahead with no grace period and polls every 10 s (its default): every record is in an
            hour that has closed, so each pass writes a further object per profile with what was staged since (the late-records path).
            The CPU table gives the nice value each process ran at (export's settings give it 10, so that the live paths get the cores first: docs/operations.md).
            Each ramp step is held {settings.Step.TotalSeconds:F0} s; the ramp stops at the first step that is not bounded, and the highest
            bounded rate is then held {settings.Top.TotalSeconds:F0} s (sustained). Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.

            | phase | target records/s | accepted records/s | batches | deferred | errors | deepest queue (max messages) | fastest-growing queue (messages/s, 2nd half) | ingest's answer p50 ms | p99 ms | subscribers p50 ms | p99 ms | bounded |
            |---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|
            """);
        foreach (var p in phases)
        {
            var (deepest, depth) = p.Deepest();
            var (growing, growth) = p.FastestGrowing();
            var name = ReferenceEquals(p, sustained) ? $"**sustained ({p.Seconds:F0} s)**" : $"{p.Name} ({p.Seconds:F0} s)";
            text.AppendLine($"| {name} | {F(p.Target)} | {F(p.AcceptedPerSecond)} | {F(p.Batches)} | {F(p.Deferred)} | {F(p.Errors)} | {deepest} ({F(depth)}) | " +
                $"{growing} ({F1(growth)}) | {F(p.Answers.P50)} | {F(p.Answers.P99)} | {F(p.Latency.P50)} | {F(p.Latency.P99)} | {(p.Bounded ? "yes" : "no: " + p.Verdict)} |");
        }

        text.AppendLine();
        text.AppendLine("""
            Bounded: accepted ≥ 95% of the target, ingest deferred at most 1% of the batches it answered, and no queue grew in the
            second half of the phase (by more than 100 messages and 20%). Ingest's answer: time from a batch's POST being sent
            to its 200 answer (ingest publishes the batch before it answers). Subscriber latency: time a subscriber parsed the
            frame − the record's `ingestion_time` (set when ingest read the request), over every record each subscriber received.
            """);
        var broker = baselines.BrokerLatency;
        text.AppendLine();
        text.AppendLine($"Beside it, the raw broker's latency at the sustained phase's rate ({F(baselines.LatencyRate)} records/s in batches of {settings.BatchSize}, " +
            $"published and consumed in one process on private servers after the system stopped; consume time − publish time): p50 {F(broker.P50)} ms, " +
            $"p99 {F(broker.P99)} ms. The subscribers' p99 in the sustained phase is **{F1(sustained.Latency.P99 / Math.Max(1, broker.P99))}× the raw broker's** " +
            "(issue 20: at most 3×), their p50 " + F1(sustained.Latency.P50 / Math.Max(1, broker.P50)) + "× its p50.");

        var queues = phases.SelectMany(p => p.MaxDepth).Where(q => q.Value > 0).Select(q => q.Key).Distinct().Order().ToList();
        text.AppendLine();
        if (queues.Count == 0)
        {
            text.AppendLine("Every RabbitMQ queue stayed empty in every sample (every 2 s).");
        }
        else
        {
            text.AppendLine("Largest depth of each queue (messages ready + unacknowledged, sampled every 2 s; queues always empty left out):");
            text.AppendLine();
            text.AppendLine($"| queue | {string.Join(" | ", phases.Select(p => p.Name))} |");
            text.AppendLine($"|---|{string.Concat(phases.Select(_ => "---:|"))}");
            foreach (var queue in queues)
            {
                text.AppendLine($"| {queue} | {string.Join(" | ", phases.Select(p => F(p.MaxDepth.GetValueOrDefault(queue))))} |");
            }
        }

        text.AppendLine();
        text.AppendLine(!run.AnyBounded
            ? $"**No step was bounded**: the sustained phase ran at the lowest rate, {F(sustained.Target)} records/s (accepted {F(sustained.AcceptedPerSecond)}/s), " +
              "and is not a sustained rate. Baselines measured in the same run after the system stopped:"
            : sustained.Bounded
                ? $"**Sustained rate: {F(sustained.Target)} records/s** (accepted {F(sustained.AcceptedPerSecond)}/s over {sustained.Seconds:F0} s; bounded), " +
                  "beside the baselines measured in the same run after the system stopped:"
                : $"**Not sustained: {F(sustained.Target)} records/s**, the ramp's highest bounded step, was not bounded over {sustained.Seconds:F0} s " +
                  $"(accepted {F(sustained.AcceptedPerSecond)}/s; {sustained.Verdict}): the sustained rate is below it. Baselines measured in the same run after the system stopped:");
        text.AppendLine($"""

            | | records/s | ratio to raw broker | ratio to raw COPY |
            |---|---:|---:|---:|
            | raw MassTransit publish + consume of the batch messages ({settings.BatchSize} records each, {settings.Concurrency} publishers, servers: {baselines.Source}) | {F(baselines.Broker)} | 1.00 | {R(baselines.Broker / baselines.Copy)} |
            | raw binary COPY of the same records (one connection, no dedup) | {F(baselines.Copy)} | {R(baselines.Copy / baselines.Broker)} | 1.00 |
            | **system: {(sustained.Bounded ? "sustained rate" : $"held {sustained.Seconds:F0} s, not bounded")} (target)** | **{F(sustained.Target)}** | **{R(sustained.Target / baselines.Broker)}** | **{R(sustained.Target / baselines.Copy)}** |
            | system: accepted in the sustained phase | {F(sustained.AcceptedPerSecond)} | {R(sustained.AcceptedPerSecond / baselines.Broker)} | {R(sustained.AcceptedPerSecond / baselines.Copy)} |

            Export lag of {run.ExportLags.Count} sampled profiles (one per sampled area): seconds from the end of posting until the profile's
            objects in S3 hold every record answered 200 for its area (hours: {string.Join(", ", run.Hours.Select(h => $"{h.Key:yyyy-MM-dd HH}:00 UTC {F(h.Value)} records"))}).

            | area | profile | records posted | exported (distinct) | data lines | duplicates | objects | complete after |
            |---:|---|---:|---:|---:|---:|---:|---:|
            """);
        foreach (var lag in run.ExportLags)
        {
            text.AppendLine($"| {lag.AreaNumber} | {lag.Profile} | {F(lag.Expected)} | {F(lag.Distinct)} | {F(lag.Lines)} | {F(lag.Duplicates)} | {F(lag.Objects)} | " +
                $"{(lag.CompleteAfter is { } after ? $"{after.TotalSeconds:F0} s" : $"**incomplete after {lag.Waited.TotalSeconds:F0} s**")} |");
        }

        text.AppendLine();
        text.AppendLine($"Exported data lines in the sample: {F(run.ExportLags.Sum(l => l.Lines))} ({F(run.ExportLags.Sum(l => l.Duplicates))} duplicates).");
        text.AppendLine($"""

            CPU over the sustained phase ({F(sustained.Accepted)} records accepted in {sustained.Seconds:F0} s; user + system time of each
            process, its children and the children it reaped, from /proc):

            | process | CPU s | µs per record | cores (average) | nice |
            |---|---:|---:|---:|---:|
            """);
        foreach (var row in run.Cpu)
        {
            text.AppendLine($"| {row.Process} | {F1(row.Seconds)} | {F1(row.MicrosPerRecord)} | {R(row.Cores)} | {row.Nice} |");
        }

        text.AppendLine("""

            Peak memory (VmHWM, the highest resident set of each process, sampled every 2 s and at the end):

            | process | processes seen | peak RSS of the largest, MB | at most 500 MB |
            |---|---:|---:|---|
            """);
        foreach (var row in run.Memory)
        {
            text.AppendLine($"| {row.Process} | {row.Processes} | {F(row.PeakMegabytes)} | {(row.PeakMegabytes <= 500 ? "yes" : "**no**")} |");
        }

        text.AppendLine();
        text.AppendLine($"Processes measured: {run.Processes}.");
        return text.ToString();
    }
}
