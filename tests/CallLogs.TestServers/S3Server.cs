namespace CallLogs.TestServers;

/// <summary>A private S3-compatible server (s3rver from npm, pinned in AppHost/package.json) with its own folder and port.</summary>
public sealed class S3Server(string dataDirectory, Action<string> log) : IServerResource
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly int _port = Ports.Free();
    private readonly OutputTail _tail = new();
    private ManagedProcess? _process;

    public bool IsRunning => _process is { HasExited: false };
    public DateTimeOffset? StartedAt { get; private set; }

    public string Name => "s3";
    public string Url => Endpoint.ToString();
    public Uri Endpoint => new($"http://127.0.0.1:{_port}");
    public string ConnectionString => $"Endpoint={Endpoint};AccessKey={AccessKey};SecretKey={SecretKey};Region=us-east-1";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var s3rver = Path.Combine(RepositoryPaths.Root, "AppHost", "node_modules", "s3rver", "bin", "s3rver.js");
        if (!File.Exists(s3rver))
        {
            throw new InvalidOperationException("s3rver is not installed: run ./build.sh (it runs npm ci in AppHost/).");
        }

        Directory.CreateDirectory(dataDirectory);
        StartedAt = DateTimeOffset.UtcNow;
        _process = ManagedProcess.Start("node", [s3rver, "-d", dataDirectory, "-a", "127.0.0.1", "-p", _port.ToString(), "--no-vhost-buckets"],
            new Dictionary<string, string?>(), line =>
            {
                _tail.Add(line);
                log(line);
            });

        using var http = new HttpClient { BaseAddress = Endpoint, Timeout = TimeSpan.FromSeconds(2) };
        await Readiness.WaitAsync(Name, async ct =>
        {
            try
            {
                using var response = await http.GetAsync("/", ct);
                return (int)response.StatusCode < 500;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, _process, _tail, TimeSpan.FromSeconds(30), cancellationToken);
    }

    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(5));
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
