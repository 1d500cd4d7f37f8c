namespace CallLogs.AppHost.Hosting;

public enum ResourceState
{
    Waiting,
    Starting,
    Healthy,
    Unhealthy,
    Crashed,
    Stopped,
}

/// <summary>
/// One CallLogs service as a child process (its built assembly on <c>dotnet</c>), watched through /health and
/// restarted with backoff when it exits unexpectedly.
/// </summary>
public sealed class ServiceResource(string service, int port, IReadOnlyDictionary<string, string?> environment, Action<string> log)
    : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private ManagedProcess? _process;
    private Task? _supervisor;

    public string Service { get; } = service;
    public string Name => Service.ToLowerInvariant();
    public Uri Url { get; } = new($"http://127.0.0.1:{port}");
    public ResourceState State { get; private set; } = ResourceState.Waiting;
    public int Restarts { get; private set; }
    public DateTimeOffset? StartedAt { get; private set; }

    /// <summary>The current process, while one runs.</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;
    public event Action<ServiceResource>? StateChanged;

    public void Start() => _supervisor = SuperviseAsync(_stopping.Token);

    /// <summary>Stops the process; the supervisor starts it again (the dashboard's restart action).</summary>
    public async Task RestartAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(10));
        }
    }

    private async Task SuperviseAsync(CancellationToken stopping)
    {
        var backoff = TimeSpan.FromSeconds(1);
        using var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(5) };
        while (!stopping.IsCancellationRequested)
        {
            var assembly = RepositoryPaths.ServiceAssembly(Service);
            SetState(ResourceState.Starting);
            StartedAt = DateTimeOffset.UtcNow;
            _process = ManagedProcess.Start("dotnet", [assembly], new Dictionary<string, string?>(environment), log, Path.GetDirectoryName(assembly));

            while (!_process.HasExited && !stopping.IsCancellationRequested)
            {
                SetState(await IsHealthyAsync(http, stopping) ? ResourceState.Healthy
                    : State == ResourceState.Starting ? ResourceState.Starting : ResourceState.Unhealthy);
                if (State == ResourceState.Healthy)
                {
                    backoff = TimeSpan.FromSeconds(1);
                }

                await Task.WhenAny(_process.Exited, Task.Delay(TimeSpan.FromSeconds(2), stopping));
            }

            if (stopping.IsCancellationRequested)
            {
                break;
            }

            SetState(ResourceState.Crashed);
            log($"exited with code {_process.ExitCode}; restarting in {backoff.TotalSeconds:0} s");
            try
            {
                await Task.Delay(backoff, stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            Restarts++;
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

    private void SetState(ResourceState state)
    {
        if (State != state)
        {
            State = state;
            StateChanged?.Invoke(this);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(15));
        }

        if (_supervisor is not null)
        {
            await _supervisor;
        }

        SetState(ResourceState.Stopped);
    }
}
