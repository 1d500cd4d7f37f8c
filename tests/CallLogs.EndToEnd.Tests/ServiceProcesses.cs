using System.Diagnostics;

namespace CallLogs.EndToEnd.Tests;

/// <summary>One service instance of a run: its process and the address it listens on itself (behind DCP's proxy).</summary>
public sealed record ServiceInstance(string Service, string Id, int Pid, Uri Url);

/// <summary>The processes of one AppHost run, found through /proc: service instances, PostgreSQL, and signals to them.</summary>
public static class ServiceProcesses
{
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>
    /// The service processes of the run, found by the signing key in their environment. DCP's snapshot names the
    /// process it started (executable.pid), which launches the service as a child with the same environment: killing
    /// that one leaves the service running, orphaned. So an instance is the process of its kind with no matching child.
    /// </summary>
    public static List<ServiceInstance> Instances(string signingKey)
    {
        var found = new Dictionary<int, (ServiceInstance Instance, int Parent)>();
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
                    found[pid] = (new ServiceInstance(service, $"{service}-{instance}", pid, new Uri(url)), ParentOf(pid));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours.
            }
        }

        return [.. found.Where(f => !found.Values.Any(other => other.Parent == f.Key)).Select(f => f.Value.Instance)];
    }

    public static int Pid(string signingKey, string id) =>
        Instances(signingKey).SingleOrDefault(i => i.Id == id)?.Pid ?? throw new InvalidOperationException($"No process of {id} found.");

    public static async Task<bool> IsHealthyAsync(ServiceInstance instance)
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

    /// <summary><paramref name="replicas"/> instances of every service, each answering its own /health with success.</summary>
    public static async Task<bool> AllHealthyAsync(string signingKey, int replicas)
    {
        var instances = Instances(signingKey);
        return AspireSystem.Services.All(s => instances.Count(i => i.Service == s) == replicas)
            && (await Task.WhenAll(instances.Select(IsHealthyAsync))).All(healthy => healthy);
    }

    public static async Task<string> DescribeAsync(string signingKey)
    {
        var instances = Instances(signingKey).OrderBy(i => i.Id).ToList();
        var health = await Task.WhenAll(instances.Select(IsHealthyAsync));
        return string.Join(", ", instances.Select((i, n) => $"{i.Id} (pid {i.Pid}) {(health[n] ? "healthy" : "NOT healthy")}"));
    }

    /// <summary>The nice value of each thread of a process, from <c>/proc/{pid}/task/{tid}/stat</c> (its 19th field); empty once it has ended.</summary>
    public static List<int> ThreadNiceValues(int pid)
    {
        var values = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // the name in parentheses may hold spaces; fields from the 3rd
                    values.Add(int.Parse(fields[19 - 3], System.Globalization.CultureInfo.InvariantCulture));
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
            // The process ended.
        }

        return values;
    }

    /// <summary>The PostgreSQL server started from the run's data folder (its children name no folder on their command line).</summary>
    public static int Postmaster(string dataDirectory)
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

    /// <summary>The direct children of a process (PostgreSQL's backends and background workers).</summary>
    public static List<int> ChildrenOf(int parent)
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

    public static bool IsRunning(int pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>
    /// Every process an AppHost started, directly or through DCP (whose API server runs apart, watching the AppHost:
    /// <c>dcp start-apiserver --monitor &lt;pid&gt;</c>), each with its start time so that a reused pid is not taken for it.
    /// </summary>
    public static List<(int Pid, string Start, string Command)> StartedBy(int appHost)
    {
        var all = new Dictionary<int, (int Parent, string Start, string Command)>();
        foreach (var pid in Pids())
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                all[pid] = (int.Parse(fields[1]), fields[19], File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim());
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
        }

        var roots = all.Where(p => p.Key == appHost || p.Value.Command.Contains($"--monitor {appHost} ", StringComparison.Ordinal)).Select(p => p.Key).ToHashSet();
        var found = new List<(int, string, string)>();
        var next = new Queue<int>(roots);
        while (next.TryDequeue(out var pid))
        {
            found.Add((pid, all[pid].Start, all[pid].Command));
            foreach (var child in all.Where(p => p.Value.Parent == pid && !roots.Contains(p.Key)).Select(p => p.Key))
            {
                next.Enqueue(child);
            }
        }

        return found;
    }

    /// <summary>Whether the process still runs (same pid and the same start time).</summary>
    public static bool IsRunning((int Pid, string Start, string Command) process)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{process.Pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19] == process.Start && stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static async Task SignalAsync(string signal, IEnumerable<int> pids)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", .. pids.Select(p => p.ToString())]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
    }

    public static IEnumerable<int> Pids() =>
        Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0).Where(pid => pid > 0);

    private static int ParentOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]); // after the name: state, ppid, ...
    }
}
