namespace CallLogs.TestServers;

/// <summary>A server the AppHost starts from the programs installed on the machine, on its own ports and data folder.</summary>
public interface IServerResource : IAsyncDisposable
{
    string Name { get; }
    string Url { get; }
    bool IsRunning { get; }
    DateTimeOffset? StartedAt { get; }
    Task StartAsync(CancellationToken cancellationToken);
    Task StopAsync();
}

internal static class Readiness
{
    /// <summary>Polls <paramref name="ready"/> until true; fails early when the server process died.</summary>
    public static async Task WaitAsync(string name, Func<CancellationToken, Task<bool>> ready, ManagedProcess process,
        OutputTail tail, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with code {process.ExitCode} while starting:{Environment.NewLine}{tail}");
            }

            try
            {
                if (await ready(cts.Token))
                {
                    return;
                }

                await Task.Delay(200, cts.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{name} was not ready within {timeout}:{Environment.NewLine}{tail}");
            }
        }
    }
}

/// <summary>The last lines a process wrote, for error messages.</summary>
public sealed class OutputTail(int capacity = 40)
{
    private readonly Queue<string> _lines = new();

    public void Add(string line)
    {
        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > capacity)
            {
                _lines.Dequeue();
            }
        }
    }

    public override string ToString()
    {
        lock (_lines)
        {
            return string.Join(Environment.NewLine, _lines);
        }
    }
}

internal static class Unix
{
    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>Runs a program as <paramref name="user"/> when we are root (servers refuse root), else as ourselves.</summary>
    public static (string File, IEnumerable<string> Arguments) As(string user, string file, params string[] arguments) =>
        IsRoot ? ("runuser", new[] { "-u", user, "--", file }.Concat(arguments)) : (file, arguments);

    public static async Task ChownAsync(string user, string path)
    {
        if (IsRoot)
        {
            await ManagedProcess.RunAsync("chown", ["-R", $"{user}:{user}", path]);
        }
    }
}
