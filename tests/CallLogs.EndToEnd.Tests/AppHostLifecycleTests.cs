using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CallLogs.TestServers;
using CallLogs.Testing;
using Xunit.Abstractions;

namespace CallLogs.EndToEnd.Tests;

/// <summary>
/// The AppHost as operators run it (<c>dotnet CallLogs.AppHost.dll</c>, what <c>./build.sh run</c> starts): killed with
/// SIGKILL it leaves nothing running, the next start on the same data folder is not blocked by anything left behind,
/// and Ctrl+C (SIGINT) stops it with exit code 0 and everything it started. While it runs, everything it started listens
/// on loopback only, and the servers' credentials files are readable by their owner only.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostLifecycleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Ready = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Gone = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_killed_AppHost_leaves_nothing_running_the_next_start_on_its_data_works_and_Ctrl_C_stops_everything()
    {
        var data = Path.Combine(RepositoryPaths.Data, $"e2e-lifecycle-{Guid.NewGuid():N}");
        try
        {
            using (var first = await StartAsync(data))
            {
                var started = ServiceProcesses.StartedBy(first.Id);
                var listening = Listening(started.Select(p => p.Pid));
                Log($"first run: AppHost {first.Id} and {started.Count - 1} processes it started, listening on {listening.Count} TCP sockets");
                Assert.True(listening.Count > 0, "no listening socket found");
                Assert.All(listening, socket => Assert.True(socket.Loopback, $"{socket.Address} (process {socket.Pid}: {CommandLine(socket.Pid).Replace('\0', ' ')[..Math.Min(160, CommandLine(socket.Pid).Length)]}) listens beyond loopback"));
                var secrets = Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories)
                    .Where(f => Path.GetFileName(f) is "password" or ".erlang.cookie").ToList();
                Assert.True(secrets.Count >= 3, $"found {secrets.Count} credentials files, expected PostgreSQL's and RabbitMQ's passwords and the Erlang cookie");
                Assert.All(secrets, f => Assert.True((File.GetUnixFileMode(f) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) == 0,
                    $"{f} is {File.GetUnixFileMode(f)}: readable beyond its owner"));
                Log("SIGKILL of the AppHost");
                await ServiceProcesses.SignalAsync("KILL", [first.Id]);
                await AllEndedAsync(started, "after the AppHost's SIGKILL");
            }

            using var second = await StartAsync(data);
            var again = ServiceProcesses.StartedBy(second.Id);
            Log($"second run on the same data folder ready: AppHost {second.Id} and {again.Count - 1} processes; SIGINT (Ctrl+C)");
            await ServiceProcesses.SignalAsync("INT", [second.Id]);
            using (var exit = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
            {
                try
                {
                    await second.WaitForExitAsync(exit.Token);
                }
                catch (OperationCanceledException)
                {
                    Log($"the AppHost had not exited 2 minutes after Ctrl+C; still running: {StillRunning(again)}");
                    Log($"its last output: {Tail(second.Id)}");
                    throw;
                }
            }

            Assert.Equal(0, second.ExitCode);
            await AllEndedAsync(again, "after Ctrl+C");
        }
        finally
        {
            foreach (var pid in _output.Keys)
            {
                try
                {
                    using var apphost = Process.GetProcessById(pid);
                    apphost.Kill(entireProcessTree: true); // after a failure: the AppHost and the services it started
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // ended already
                }
            }

            var left = ServiceProcesses.Pids().Where(pid => CommandLine(pid).Contains(data, StringComparison.Ordinal)).ToList();
            if (left.Count > 0)
            {
                await ServiceProcesses.SignalAsync("KILL", left);
            }

            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    /// <summary>Starts the AppHost on free ports and waits for it to print that CallLogs is up (every service ready, the demo area made).</summary>
    private async Task<Process> StartAsync(string data)
    {
        // Through env(1) with SIGINT at its default action, as in a terminal: a process started in the background by a
        // shell without job control (a CI script's `… &`, nohup) inherits SIGINT ignored, and an ignored SIGINT stays
        // ignored across exec, so the AppHost would not see this test's Ctrl+C at all.
        var info = new ProcessStartInfo("env", ["--default-signal=INT", "dotnet", Path.Combine(RepositoryPaths.Root, "AppHost", "bin", RepositoryPaths.Configuration, "net10.0", "CallLogs.AppHost.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryPaths.Root,
        };
        info.Environment["ASPNETCORE_URLS"] = $"http://localhost:{FreePort()}";
        info.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
        info.Environment["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
        info.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        info.Environment["DOTNET_ENVIRONMENT"] = "Development";
        info.Environment["Infrastructure__Mode"] = "executables";
        info.Environment["Infrastructure__DataDirectory"] = data;
        var process = Process.Start(info)!;
        var log = new StringBuilder();
        _output[process.Id] = log;
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Read(object sender, DataReceivedEventArgs line)
        {
            lock (log)
            {
                log.AppendLine(line.Data);
            }

            if (line.Data?.Contains("demo area id:", StringComparison.Ordinal) == true)
            {
                up.TrySetResult();
            }
        }

        process.OutputDataReceived += Read;
        process.ErrorDataReceived += Read;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var run = Stopwatch.StartNew();
        var finished = await Task.WhenAny(up.Task, process.WaitForExitAsync(), Task.Delay(Ready));
        if (finished != up.Task)
        {
            var text = log.ToString();
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The AppHost did not say CallLogs is up within {Ready} (exited: {process.HasExited}). Its last output: {text[Math.Max(0, text.Length - 4000)..]}");
        }

        Log($"AppHost {process.Id} up in {run.Elapsed.TotalSeconds:F0} s");
        return process;
    }

    /// <summary>What each AppHost started by this test wrote, by process id.</summary>
    private readonly Dictionary<int, StringBuilder> _output = [];

    private string Tail(int pid)
    {
        var log = _output[pid];
        lock (log)
        {
            return log.ToString()[Math.Max(0, log.Length - 6000)..];
        }
    }

    private static string StillRunning(List<(int Pid, string Start, string Command)> processes) =>
        string.Join("; ", processes.Where(ServiceProcesses.IsRunning).Select(p => $"{p.Pid} {p.Command[..Math.Min(p.Command.Length, 160)]}"));

    private async Task AllEndedAsync(List<(int Pid, string Start, string Command)> processes, string when)
    {
        try
        {
            await Eventually.Until(() => !processes.Any(ServiceProcesses.IsRunning), Gone, $"every process the AppHost started ended {when}");
        }
        catch (TimeoutException)
        {
            Log($"still running {when}: {StillRunning(processes)}");
            throw;
        }

        Log($"{processes.Count} processes ended {when}");
    }

    private sealed record Socket(int Pid, string Address, bool Loopback);

    /// <summary>The TCP sockets the processes listen on (from /proc/net/tcp and tcp6, matched by inode to their descriptors).</summary>
    private static List<Socket> Listening(IEnumerable<int> pids)
    {
        var owners = new Dictionary<string, int>();
        foreach (var pid in pids)
        {
            try
            {
                foreach (var descriptor in Directory.EnumerateFiles($"/proc/{pid}/fd"))
                {
                    if (new FileInfo(descriptor).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                    {
                        owners[target[8..^1]] = pid;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        var sockets = new List<Socket>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[3] != "0A" || !owners.TryGetValue(fields[9], out var owner)) // 0A: LISTEN
                {
                    continue;
                }

                var address = fields[1][..fields[1].IndexOf(':')];
                // IPv4 127.0.0.0/8 is stored little-endian (…7F); IPv6 ::1 and ::ffff:127.x as four little-endian words.
                var loopback = address.Length == 8 ? address.EndsWith("7F", StringComparison.Ordinal)
                    : address == "00000000000000000000000001000000" || (address.StartsWith("0000000000000000FFFF0000", StringComparison.Ordinal) && address.EndsWith("7F", StringComparison.Ordinal));
                sockets.Add(new Socket(owner, fields[1], loopback));
            }
        }

        return sockets;
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Log(string message) => output.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {message}");
}
