using System.Security.Cryptography;
using Npgsql;

namespace CallLogs.TestServers;

/// <summary>
/// A private PostgreSQL cluster (Debian's postgresql) in its own folder on its own port, password login on
/// 127.0.0.1 only. <paramref name="durable"/> false turns fsync off, for tests.
/// </summary>
public sealed class PostgresServer(string dataDirectory, bool durable, Action<string> log) : IServerResource
{
    private readonly int _port = Ports.Free();
    private readonly OutputTail _tail = new();
    private ManagedProcess? _process;

    public bool IsRunning => _process is { HasExited: false };
    public DateTimeOffset? StartedAt { get; private set; }
    private string _password = "";

    public string Name => "postgres";
    public string Url => $"postgresql://127.0.0.1:{_port}";
    public string AdminConnectionString => $"Host=127.0.0.1;Port={_port};Username=postgres;Password={_password}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var bin = BinDirectory();
        var cluster = Path.Combine(dataDirectory, "cluster");
        var passwordFile = Path.Combine(dataDirectory, "password");
        Directory.CreateDirectory(dataDirectory);
        if (!File.Exists(Path.Combine(cluster, "PG_VERSION")))
        {
            await File.WriteAllTextAsync(passwordFile, Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), cancellationToken);
            await Unix.ChownAsync("postgres", dataDirectory);
            var (file, arguments) = Unix.As("postgres", Path.Combine(bin, "initdb"),
                "-D", cluster, "-U", "postgres", "--pwfile", passwordFile, "--auth-local=peer", "--auth-host=scram-sha-256",
                "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync");
            var (code, output) = await ManagedProcess.RunAsync(file, arguments);
            if (code != 0)
            {
                throw new InvalidOperationException($"initdb failed ({code}):{Environment.NewLine}{output}");
            }
        }

        _password = (await File.ReadAllTextAsync(passwordFile, cancellationToken)).Trim();
        var socketDirectory = Path.Combine(dataDirectory, "socket");
        Directory.CreateDirectory(socketDirectory);
        await Unix.ChownAsync("postgres", dataDirectory);

        var settings = new List<string>
        {
            "-D", cluster, "-p", _port.ToString(), "-k", socketDirectory,
            "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=400", "-c", "shared_buffers=256MB",
        };
        if (!durable)
        {
            settings.AddRange(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }

        var (server, serverArguments) = Unix.As("postgres", Path.Combine(bin, "postgres"), [.. settings]);
        StartedAt = DateTimeOffset.UtcNow;
        _process = ManagedProcess.Start(server, serverArguments, new Dictionary<string, string?>(), line =>
        {
            _tail.Add(line);
            log(line);
        });

        await Readiness.WaitAsync(Name, async ct =>
        {
            try
            {
                await using var connection = new NpgsqlConnection(AdminConnectionString + ";Timeout=2;Pooling=false");
                await connection.OpenAsync(ct);
                return true;
            }
            catch (NpgsqlException)
            {
                return false;
            }
        }, _process, _tail, TimeSpan.FromSeconds(60), cancellationToken);
    }

    public async Task StopAsync()
    {
        if (_process is not null)
        {
            // SIGTERM is PostgreSQL's "smart" shutdown; runuser passes it on.
            await _process.StopAsync(TimeSpan.FromSeconds(15));
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private static string BinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        var newest = Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "postgres")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).FirstOrDefault()
            : null;
        return newest ?? throw new InvalidOperationException("PostgreSQL is not installed: run ./build.sh (it installs postgresql) or apt-get install postgresql.");
    }
}
