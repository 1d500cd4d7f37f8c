using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using CallLogs.EndToEnd.Tests;

namespace CallLogs.Bench.SystemBench;

/// <summary>The RabbitMQ queue depths (messages ready + unacknowledged) at one moment.</summary>
internal sealed record QueueSample(DateTimeOffset At, IReadOnlyDictionary<string, long> Depths);

internal sealed record Latency(int Count, double P50, double P99, double Max)
{
    public static Latency Of(List<double> values)
    {
        if (values.Count == 0)
        {
            return new Latency(0, double.NaN, double.NaN, double.NaN);
        }

        values.Sort();
        return new Latency(values.Count, values[(int)(values.Count * 0.50)], values[Math.Min(values.Count - 1, (int)(values.Count * 0.99))], values[^1]);
    }
}

/// <summary>One part of the run (a ramp step, the sustained phase, a pause): what the gateways, subscribers and sampler saw during it.</summary>
internal sealed class Phase(string name, int target)
{
    private readonly Lock _gate = new();
    private readonly List<double> _latencies = [];
    private readonly List<double> _answers = [];
    private readonly List<QueueSample> _queues = [];
    private long _accepted;
    private long _batches;
    private long _deferred;
    private long _errors;
    private long _refused;
    private long _missed;

    public string Name => name;
    public int Target => target;
    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;
    public DateTimeOffset? Ended { get; private set; }
    public TimeSpan Duration => (Ended ?? DateTimeOffset.UtcNow) - Started;
    public long Accepted => Interlocked.Read(ref _accepted);
    public long Batches => Interlocked.Read(ref _batches);
    public long Deferred => Interlocked.Read(ref _deferred);
    public long Errors => Interlocked.Read(ref _errors);
    public long Refused => Interlocked.Read(ref _refused);
    public long Missed => Interlocked.Read(ref _missed);

    public void End() => Ended = DateTimeOffset.UtcNow;

    public void AddAccepted(int records, int refused)
    {
        Interlocked.Add(ref _accepted, records);
        Interlocked.Add(ref _refused, refused);
        Interlocked.Increment(ref _batches);
    }

    public void AddDeferred() => Interlocked.Increment(ref _deferred);

    public void AddError() => Interlocked.Increment(ref _errors);

    public void AddMissed(long records) => Interlocked.Add(ref _missed, records);

    public void AddLatencies(List<double> milliseconds)
    {
        lock (_gate)
        {
            _latencies.AddRange(milliseconds);
        }
    }

    /// <summary>How long ingest took to answer a batch 200 (the POST sent until its answer's headers came back), in milliseconds.</summary>
    public void AddAnswer(double milliseconds)
    {
        lock (_gate)
        {
            _answers.Add(milliseconds);
        }
    }

    public List<double> Answers()
    {
        lock (_gate)
        {
            return [.. _answers];
        }
    }

    public void AddQueueSample(QueueSample sample)
    {
        lock (_gate)
        {
            _queues.Add(sample);
        }
    }

    public List<double> Latencies()
    {
        lock (_gate)
        {
            return [.. _latencies];
        }
    }

    public List<QueueSample> QueueSamples()
    {
        lock (_gate)
        {
            return [.. _queues];
        }
    }
}

/// <summary>A finished phase, judged.</summary>
internal sealed record PhaseResult(
    string Name,
    int Target,
    double Seconds,
    long Accepted,
    long Batches,
    long Deferred,
    long Errors,
    long Refused,
    IReadOnlyDictionary<string, long> MaxDepth,
    IReadOnlyDictionary<string, long> EndDepth,
    IReadOnlyDictionary<string, double> Growth,
    bool Bounded,
    string Verdict,
    Latency Latency,
    Latency Answers,
    long Missed)
{
    public double AcceptedPerSecond => Accepted / Seconds;

    /// <summary>
    /// Bounded: accepted ≥ 95% of the target rate, ingest deferred at most 1% of the batches it answered, and no queue
    /// grew in the second half of the phase (by more than 100 messages and 20%: RabbitMQ refreshes its figures every 5 s).
    /// </summary>
    public static PhaseResult Of(Phase phase)
    {
        var seconds = phase.Duration.TotalSeconds;
        var samples = phase.QueueSamples();
        var maxDepth = new Dictionary<string, long>();
        foreach (var (queue, depth) in samples.SelectMany(s => s.Depths))
        {
            maxDepth[queue] = Math.Max(depth, maxDepth.GetValueOrDefault(queue));
        }

        var problems = new List<string>();
        var endDepth = new Dictionary<string, long>();
        var growth = new Dictionary<string, double>();
        if (samples.Count < 2)
        {
            problems.Add("too few queue samples to judge");
        }
        else
        {
            var middle = phase.Started + phase.Duration / 2;
            var mid = samples.MinBy(s => Math.Abs((s.At - middle).Ticks))!;
            var end = samples[^1];
            foreach (var (queue, depth) in end.Depths)
            {
                var atMid = mid.Depths.GetValueOrDefault(queue);
                endDepth[queue] = depth;
                growth[queue] = end.At > mid.At ? (depth - atMid) / (end.At - mid.At).TotalSeconds : 0;
                if (depth - atMid > 100 && depth > 1.2 * atMid)
                {
                    problems.Add($"queue {queue} grew from {Progress.Num(atMid)} at mid-phase to {Progress.Num(depth)}");
                }
            }
        }

        var acceptedPerSecond = phase.Accepted / seconds;
        if (acceptedPerSecond < 0.95 * phase.Target)
        {
            problems.Add($"accepted {Progress.Num(acceptedPerSecond)}/s < 95% of {Progress.Num(phase.Target)}/s");
        }

        var answered = phase.Batches + phase.Deferred;
        if (phase.Deferred > 0.01 * answered)
        {
            problems.Add($"{phase.Deferred} of {answered} answers deferred (> 1%)");
        }

        return new PhaseResult(phase.Name, phase.Target, seconds, phase.Accepted, phase.Batches, phase.Deferred, phase.Errors, phase.Refused,
            maxDepth, endDepth, growth, problems.Count == 0, problems.Count == 0 ? "bounded" : string.Join("; ", problems),
            Latency.Of(phase.Latencies()), Latency.Of(phase.Answers()), phase.Missed);
    }

    public (string Queue, long Depth) Deepest()
    {
        if (MaxDepth.Count == 0)
        {
            return ("-", 0);
        }

        var deepest = MaxDepth.MaxBy(q => q.Value);
        return (deepest.Key, deepest.Value);
    }

    public (string Queue, double PerSecond) FastestGrowing()
    {
        if (Growth.Count == 0)
        {
            return ("-", 0);
        }

        var fastest = Growth.MaxBy(q => q.Value);
        return (fastest.Key, fastest.Value);
    }
}

internal sealed record CpuRow(string Process, double Seconds, double MicrosPerRecord, double Cores, string Nice);

internal sealed record MemoryRow(string Process, int Processes, double PeakMegabytes);

/// <summary>
/// Every 2 s: the depth of every queue of the run's RabbitMQ (management HTTP API), and the peak RSS (VmHWM) of every
/// process of the run. On demand: the CPU time used so far by each group of processes (utime + stime of the processes
/// and of their children, from /proc), the whole machine's busy time, and this process's own.
/// </summary>
internal sealed class Sampler : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private static readonly double TicksPerSecond = ClockTicks();

    private readonly HttpClient _management;
    private readonly IReadOnlyDictionary<string, List<int>> _groups;
    private readonly CurrentPhase _phase;
    private readonly Dictionary<(string Group, int Pid), long> _peakKilobytes = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    private Sampler(HttpClient management, IReadOnlyDictionary<string, List<int>> groups, CurrentPhase phase)
    {
        _management = management;
        _groups = groups;
        _phase = phase;
    }

    public string Describe() => string.Join(", ", _groups.Select(g => $"{g.Key} (pid {string.Join(" ", g.Value)})"));

    /// <summary>
    /// Finds the run's processes (service instances by the run's signing key; PostgreSQL, RabbitMQ and the S3 server by
    /// the run's data folder on their command line) and checks that the management API answers.
    /// </summary>
    public static async Task<Sampler> StartAsync(AspireSystem system, CurrentPhase phase)
    {
        var groups = new Dictionary<string, List<int>>();
        foreach (var instance in ServiceProcesses.Instances(system.SigningKey).OrderBy(i => i.Id))
        {
            groups.TryAdd(instance.Service, []);
            groups[instance.Service].Add(instance.Pid);
        }

        var missing = AspireSystem.Services.Where(s => !groups.ContainsKey(s)).ToList();
        if (missing.Count > 0)
        {
            Progress.Log($"WARNING: no process found for {string.Join(", ", missing)}; their CPU and memory are not reported");
        }

        try
        {
            groups["PostgreSQL"] = [ServiceProcesses.Postmaster(system.DataDirectory)];
        }
        catch (InvalidOperationException e)
        {
            Progress.Log($"WARNING: PostgreSQL's postmaster not found ({e.Message}); its CPU and memory are not reported");
        }

        AddByCommandLine(groups, "RabbitMQ", "beam.smp", Path.Combine(system.DataDirectory, "messaging"));
        AddByCommandLine(groups, "S3 server", "s3rver", Path.Combine(system.DataDirectory, "storage"));

        // The connection string is amqp://user:password@host:port (default virtual host "/"); the management API takes the same user.
        var amqp = new Uri(await system.ConnectionStringAsync("messaging"));
        var management = new HttpClient { BaseAddress = system.App.GetEndpoint("messaging", "management"), Timeout = TimeSpan.FromSeconds(10) };
        management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(amqp.UserInfo))));
        var sampler = new Sampler(management, groups, phase);
        var depths = await sampler.QueueDepthsAsync()
            ?? throw new InvalidOperationException($"RabbitMQ's management API at {management.BaseAddress} did not list the queues; see the lines above.");
        Progress.Log($"management API at {management.BaseAddress}: {depths.Count} queues ({string.Join(", ", depths.Keys.Order())})");
        sampler._loop = sampler.LoopAsync();
        return sampler;
    }

    /// <summary>Depth of every queue of the default virtual host, or null when the management API did not answer.</summary>
    public async Task<IReadOnlyDictionary<string, long>?> QueueDepthsAsync()
    {
        try
        {
            using var response = await _management.GetAsync("api/queues/%2F?columns=name,messages");
            if (!response.IsSuccessStatusCode)
            {
                Progress.LogLimited("queue sample", $"RabbitMQ management API answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                return null;
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            // "messages" is missing until the broker has its first statistics of a new queue.
            return json.RootElement.EnumerateArray().ToDictionary(
                q => q.GetProperty("name").GetString()!,
                q => q.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Number ? messages.GetInt64() : 0);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
        {
            Progress.LogLimited("queue sample", $"RabbitMQ management API: {e.GetType().Name}: {e.Message}");
            return null;
        }
    }

    /// <summary>Takes a queue sample now, for the current phase.</summary>
    public async Task SampleQueuesAsync()
    {
        var phase = _phase.Value;
        if (await QueueDepthsAsync() is { } depths)
        {
            phase.AddQueueSample(new QueueSample(DateTimeOffset.UtcNow, depths));
        }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await SampleQueuesAsync();
            UpdatePeaks();
            try
            {
                await Task.Delay(Interval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>CPU seconds used so far by each group (its processes, their descendants, and children they reaped), the machine and this process.</summary>
    public Dictionary<string, double> CpuSeconds()
    {
        var processes = ReadProcesses();
        var cpu = new Dictionary<string, double>();
        foreach (var (group, roots) in _groups)
        {
            var gone = roots.Where(pid => !processes.ContainsKey(pid)).ToList();
            if (gone.Count > 0)
            {
                Progress.LogLimited("process gone", $"{group}: process {string.Join(", ", gone)} no longer runs; its CPU figure is incomplete");
            }

            cpu[group] = Tree(processes, roots).Sum(pid => processes[pid].Ticks) / TicksPerSecond;
        }

        cpu["this benchmark (gateways, subscribers)"] = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        cpu["whole machine"] = MachineBusyTicks() / TicksPerSecond;
        return cpu;
    }

    /// <summary>Per group: the nice values its processes' threads run at now (e.g. "10", or "0–10" when they differ).</summary>
    public Dictionary<string, string> NiceValues() => _groups.ToDictionary(g => g.Key, g =>
    {
        var values = g.Value.SelectMany(ServiceProcesses.ThreadNiceValues).Distinct().Order().ToList();
        return values.Count switch { 0 => "–", 1 => $"{values[0]}", _ => $"{values[0]}–{values[^1]}" };
    });

    /// <summary>Per group: the number of processes seen and the highest peak RSS of any one of them.</summary>
    public List<MemoryRow> PeakMemory()
    {
        UpdatePeaks();
        lock (_peakKilobytes)
        {
            return [.. _groups.Keys.Select(group =>
            {
                var peaks = _peakKilobytes.Where(p => p.Key.Group == group).Select(p => p.Value).ToList();
                return new MemoryRow(group, peaks.Count, peaks.Count == 0 ? 0 : peaks.Max() / 1024.0);
            })];
        }
    }

    private void UpdatePeaks()
    {
        var processes = ReadProcesses();
        lock (_peakKilobytes)
        {
            foreach (var (group, roots) in _groups)
            {
                foreach (var pid in Tree(processes, roots))
                {
                    if (PeakKilobytes(pid) is { } peak)
                    {
                        _peakKilobytes[(group, pid)] = Math.Max(peak, _peakKilobytes.GetValueOrDefault((group, pid)));
                    }
                }
            }
        }
    }

    /// <summary>The roots that still run and all their descendants.</summary>
    private static List<int> Tree(Dictionary<int, (int Parent, long Ticks)> processes, List<int> roots)
    {
        var children = processes.ToLookup(p => p.Value.Parent, p => p.Key);
        var found = new List<int>();
        var next = new Queue<int>(roots.Where(processes.ContainsKey));
        while (next.TryDequeue(out var pid))
        {
            found.Add(pid);
            foreach (var child in children[pid])
            {
                next.Enqueue(child);
            }
        }

        return found;
    }

    /// <summary>Every process: its parent and its CPU ticks (utime + stime + cutime + cstime, fields 14-17 of /proc/pid/stat).</summary>
    private static Dictionary<int, (int Parent, long Ticks)> ReadProcesses()
    {
        var processes = new Dictionary<int, (int, long)>();
        foreach (var pid in ServiceProcesses.Pids())
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after the name: state, ppid, ...
                processes[pid] = (int.Parse(fields[1], CultureInfo.InvariantCulture),
                    long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
                    + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // Gone meanwhile.
            }
        }

        return processes;
    }

    private static long? PeakKilobytes(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>user + nice + system + irq + softirq + steal of all CPUs (first line of /proc/stat).</summary>
    private static long MachineBusyTicks()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new[] { 1, 2, 3, 6, 7, 8 }.Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture));
    }

    /// <summary>The root process of a server: the one whose command line has both strings and whose parent has not.</summary>
    private static void AddByCommandLine(Dictionary<string, List<int>> groups, string group, string program, string dataFolder)
    {
        var matching = new Dictionary<int, int>();
        var processes = ReadProcesses();
        foreach (var pid in processes.Keys)
        {
            try
            {
                var command = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
                if (command.Contains(program, StringComparison.Ordinal) && command.Contains(dataFolder, StringComparison.Ordinal))
                {
                    matching[pid] = processes[pid].Parent;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        var roots = matching.Where(m => !matching.ContainsKey(m.Value)).Select(m => m.Key).ToList();
        if (roots.Count == 0)
        {
            Progress.Log($"WARNING: no {program} process of {dataFolder} found; {group}'s CPU and memory are not reported");
            return;
        }

        groups[group] = roots;
    }

    /// <summary>USER_HZ, the unit of /proc's CPU times (100 on Linux; asked of getconf in case).</summary>
    private static double ClockTicks()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false })!;
            var output = getconf.StandardOutput.ReadToEnd();
            getconf.WaitForExit();
            return double.TryParse(output.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return 100;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _management.Dispose();
        _stop.Dispose();
    }
}

/// <summary>How long after the end of posting a sampled profile's objects in S3 held every record posted to its area.</summary>
internal sealed record ExportLag(int AreaNumber, Guid Profile, long Expected, long Distinct, long Lines, long Objects, TimeSpan? CompleteAfter, TimeSpan Waited)
{
    public long Duplicates => Lines - Distinct;
}

/// <summary>
/// Reads one profile's objects in S3 (every hour), each object once: new objects are listed and read as they appear,
/// counting data lines (header left out) and distinct request_uuids (the first column).
/// </summary>
internal sealed class ExportWatch(IAmazonS3 s3, string bucket, Guid area, Guid profile, int areaNumber)
{
    private readonly HashSet<string> _read = [];
    private readonly HashSet<Guid> _ids = [];

    public Guid Area => area;
    public Guid Profile => profile;
    public int AreaNumber => areaNumber;
    public long Lines { get; private set; }
    public long Distinct => _ids.Count;
    public long Objects => _read.Count;

    public async Task ReadNewObjectsAsync()
    {
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = $"{area}/{profile}/" };
        ListObjectsV2Response listed;
        do
        {
            listed = await s3.ListObjectsV2Async(request);
            foreach (var item in (listed.S3Objects ?? []).Where(o => !_read.Contains(o.Key)))
            {
                // Counted only once the whole object is read, so that a failed read is read again whole. s3rver can list
                // and serve an object while it still writes its file (one object of a run was read empty and never again):
                // what was read counts only when it is the object S3 describes, else it is read again on the next pass.
                using var body = new MemoryStream();
                string etag;
                using (var read = await s3.GetObjectAsync(bucket, item.Key))
                {
                    await read.ResponseStream.CopyToAsync(body);
                    etag = read.ETag.Trim('"');
                }

                if (!await IsWholeAsync(item.Key, body, etag))
                {
                    continue;
                }

                body.Position = 0;
                var ids = new List<Guid>();
                await using (var gzip = new GZipStream(body, CompressionMode.Decompress))
                using (var reader = new StreamReader(gzip, Encoding.UTF8))
                {
                    while (await reader.ReadLineAsync() is { } line)
                    {
                        var comma = line.IndexOf(',');
                        if (Guid.TryParse((comma < 0 ? line : line[..comma]).Trim('"'), out var id))
                        {
                            ids.Add(id);
                        }
                    }
                }

                Lines += ids.Count;
                _ids.UnionWith(ids);
                _read.Add(item.Key);
            }

            request.ContinuationToken = listed.NextContinuationToken;
        }
        while (listed.IsTruncated == true);
    }

    /// <summary>
    /// A single-part upload's ETag is the MD5 of its bytes; a multipart upload's is not, and its size asked again must be
    /// what was read.
    /// </summary>
    private async Task<bool> IsWholeAsync(string key, MemoryStream body, string etag) =>
        etag.Length == 32 && !etag.Contains('-')
            ? Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(body.GetBuffer().AsSpan(0, (int)body.Length))) == etag.ToLowerInvariant()
            : (await s3.GetObjectMetadataAsync(bucket, key)).ContentLength == body.Length;

    /// <summary>Reads new objects, telling (not throwing) why when S3 does not answer.</summary>
    public async Task TryReadNewObjectsAsync()
    {
        try
        {
            await ReadNewObjectsAsync();
        }
        catch (Exception e) when (e is AmazonS3Exception or HttpRequestException or IOException or InvalidDataException or TaskCanceledException)
        {
            Progress.LogLimited("S3 read", $"reading profile {profile}'s objects: {e.GetType().Name}: {e.Message}");
        }
    }
}
