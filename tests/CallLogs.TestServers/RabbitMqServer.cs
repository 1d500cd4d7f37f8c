using System.Net.Http.Headers;
using System.Text;

namespace CallLogs.TestServers;

/// <summary>
/// A private RabbitMQ node (Debian's rabbitmq-server) with the management plugin, its own node name, ports,
/// epmd port and data folder. Stopped with rabbitmqctl; its epmd is killed with it, so nothing is left behind.
/// </summary>
public sealed class RabbitMqServer(string dataDirectory, string nodeName, Action<string> log) : IServerResource
{
    private readonly int _amqpPort = Ports.Free();
    private readonly int _managementPort = Ports.Free();
    private readonly int _distributionPort = Ports.Free();
    private readonly int _epmdPort = Ports.Free();
    private readonly OutputTail _tail = new();
    private ManagedProcess? _process;

    public bool IsRunning => _process is { HasExited: false };
    public DateTimeOffset? StartedAt { get; private set; }

    public string Name => "rabbitmq";
    public string Url => ManagementUri.ToString();
    public string Node => $"{nodeName}@localhost";
    public Uri AmqpUri => new($"amqp://guest:guest@127.0.0.1:{_amqpPort}/");
    public Uri ManagementUri => new($"http://127.0.0.1:{_managementPort}/");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var server = Unix.IsRoot ? "/usr/sbin/rabbitmq-server" : "/usr/lib/rabbitmq/bin/rabbitmq-server";
        if (!File.Exists(server))
        {
            throw new InvalidOperationException("RabbitMQ is not installed: run ./build.sh (it installs rabbitmq-server) or apt-get install rabbitmq-server.");
        }

        Directory.CreateDirectory(Path.Combine(dataDirectory, "mnesia"));
        Directory.CreateDirectory(Path.Combine(dataDirectory, "log"));
        await File.WriteAllTextAsync(Path.Combine(dataDirectory, "rabbitmq.conf"), $"""
            listeners.tcp.default = 127.0.0.1:{_amqpPort}
            management.tcp.ip = 127.0.0.1
            management.tcp.port = {_managementPort}
            loopback_users = none
            vm_memory_high_watermark.relative = 0.2
            """, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(dataDirectory, "enabled_plugins"), "[rabbitmq_management].", cancellationToken);
        await Unix.ChownAsync("rabbitmq", dataDirectory);

        StartedAt = DateTimeOffset.UtcNow;
        _process = ManagedProcess.Start(server, [], Environment(), line =>
        {
            _tail.Add(line);
            log(line);
        }, dataDirectory);

        using var http = ManagementClient();
        await Readiness.WaitAsync(Name, async ct =>
        {
            try
            {
                using var response = await http.GetAsync("api/overview", ct);
                return response.IsSuccessStatusCode && await Ports.AcceptsAsync(_amqpPort, ct);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, _process, _tail, TimeSpan.FromSeconds(90), cancellationToken);
    }

    public HttpClient ManagementClient()
    {
        var http = new HttpClient { BaseAddress = ManagementUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes("guest:guest")));
        return http;
    }

    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            await KillEpmdAsync();
            return;
        }

        var ctl = Unix.IsRoot ? "/usr/sbin/rabbitmqctl" : "/usr/lib/rabbitmq/bin/rabbitmqctl";
        await ManagedProcess.RunAsync(ctl, ["-n", Node, "stop"], Environment(), TimeSpan.FromSeconds(30));
        await _process.StopAsync(TimeSpan.FromSeconds(10));
        await KillEpmdAsync();
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private Task KillEpmdAsync() => ManagedProcess.RunAsync("epmd", ["-port", _epmdPort.ToString(), "-kill"], Environment(), TimeSpan.FromSeconds(10));

    private Dictionary<string, string?> Environment() => new()
    {
        ["RABBITMQ_NODENAME"] = Node,
        ["RABBITMQ_NODE_PORT"] = _amqpPort.ToString(),
        ["RABBITMQ_DIST_PORT"] = _distributionPort.ToString(),
        ["ERL_EPMD_PORT"] = _epmdPort.ToString(),
        // epmd and Erlang distribution on loopback too, like AMQP and the management API.
        ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
        ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
        ["RABBITMQ_MNESIA_BASE"] = Path.Combine(dataDirectory, "mnesia"),
        ["RABBITMQ_LOG_BASE"] = Path.Combine(dataDirectory, "log"),
        ["RABBITMQ_CONFIG_FILE"] = Path.Combine(dataDirectory, "rabbitmq.conf"),
        ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(dataDirectory, "enabled_plugins"),
        ["RABBITMQ_PID_FILE"] = Path.Combine(dataDirectory, "rabbitmq.pid"),
        ["RABBITMQ_LOGS"] = "-",
    };
}
