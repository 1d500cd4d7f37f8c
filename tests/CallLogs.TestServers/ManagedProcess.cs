using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CallLogs.TestServers;

/// <summary>
/// A child process whose output lines go to a callback, stdin closed (some servers hang on an open stdin),
/// stopped with SIGTERM and, after a grace period, killed with its whole process tree.
/// </summary>
public sealed class ManagedProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ManagedProcess(Process process) => _process = process;

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public Task Exited { get; private init; } = Task.CompletedTask;

    public static ManagedProcess Start(string fileName, IEnumerable<string> arguments, IDictionary<string, string?> environment,
        Action<string> onOutput, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryPaths.Root,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) onOutput(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) onOutput(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ManagedProcess(process) { Exited = exited.Task };
    }

    /// <summary>Runs a command to its end and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments,
        IDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var output = new System.Text.StringBuilder();
        await using var process = Start(fileName, arguments, environment ?? new Dictionary<string, string?>(), line =>
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        });
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process._process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            await process.StopAsync(TimeSpan.Zero);
            return (-1, output + $"{fileName} did not finish within {timeout}");
        }

        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    /// <summary>SIGTERM, then after <paramref name="grace"/> SIGKILL to the whole tree.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        if (grace > TimeSpan.Zero)
        {
            _ = SendSignal(_process.Id, SigTerm);
            using var cts = new CancellationTokenSource(grace);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
                return;
            }
            catch (OperationCanceledException)
            {
                // Did not stop in time: kill below.
            }
        }

        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
