namespace CallLogs.TestServers;

public enum ResourceState
{
    Starting,
    Healthy,
    Unhealthy,
    Exited,
    Stopped,
}

/// <summary>
/// One CallLogs service as a child process (its built assembly on <c>dotnet</c>) for tests and benchmarks that need
/// a real process, watched through <c>/health</c>. Not restarted when it exits: the AppHost (Aspire) does that for runs.
/// </summary>
public sealed class ServiceResource(string service, int port, IReadOnlyDictionary<string, string?> environment, Action<string> log)
    : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private ManagedProcess? _process;
    private Task? _watch;

    public string Service { get; } = service;
    public string Name => Service.ToLowerInvariant();
    public Uri Url { get; } = new($"http://127.0.0.1:{port}");
    public ResourceState State { get; private set; } = ResourceState.Starting;

    /// <summary>The process, while it runs.</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    public void Start()
    {
        var assembly = RepositoryPaths.ServiceAssembly(Service);
        _process = ManagedProcess.Start("dotnet", [assembly], new Dictionary<string, string?>(environment), log, Path.GetDirectoryName(assembly));
        _watch = WatchAsync(_process, _stopping.Token);
    }

    private async Task WatchAsync(ManagedProcess process, CancellationToken stopping)
    {
        using var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(5) };
        while (!process.HasExited && !stopping.IsCancellationRequested)
        {
            State = await IsHealthyAsync(http, stopping) ? ResourceState.Healthy
                : State == ResourceState.Starting ? ResourceState.Starting : ResourceState.Unhealthy;
            await Task.WhenAny(process.Exited, Task.Delay(TimeSpan.FromMilliseconds(500), stopping));
        }

        if (process.HasExited && !stopping.IsCancellationRequested)
        {
            State = ResourceState.Exited;
            log($"exited with code {process.ExitCode}");
        }
    }

    private static async Task<bool> IsHealthyAsync(HttpClient http, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync("/health", cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(15));
            await _process.DisposeAsync();
        }

        if (_watch is not null)
        {
            await _watch;
        }

        State = ResourceState.Stopped;
        _stopping.Dispose();
    }
}
