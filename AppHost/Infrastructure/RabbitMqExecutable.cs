using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RabbitMQ.Client;

namespace CallLogs.AppHost.Infrastructure;

/// <summary>
/// RabbitMQ from the machine's rabbitmq-server package, with the management plugin, its own node, data folder and
/// epmd (a resource of its own, so that nothing outlives the AppHost). Everything listens on 127.0.0.1 only: AMQP,
/// the management UI, Erlang distribution and epmd.
/// </summary>
public sealed class RabbitMqExecutableResource(string name, string command, string dataDirectory, ParameterResource password)
    : ExecutableResource(name, command, dataDirectory), IResourceWithConnectionString
{
    public const string UserName = "calllogs";

    public string DataDirectory { get; } = dataDirectory;
    public ParameterResource Password { get; } = password;
    public EndpointReference Amqp => new(this, "tcp");
    public EndpointReference Management => new(this, "management");

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"amqp://{UserName}:{Password}@{Amqp.Property(EndpointProperty.HostAndPort)}");
}

/// <summary>
/// The Erlang port mapper daemon of one RabbitMQ node, in the foreground, on 127.0.0.1 and a port of its own. Not a
/// child resource: the node waits for it (Aspire refuses a resource that waits for its own child).
/// </summary>
public sealed class EpmdResource(string name, string workingDirectory) : ExecutableResource(name, "epmd", workingDirectory)
{
    public EndpointReference Endpoint => new(this, "tcp");
}

public static class RabbitMqExecutableExtensions
{
    private const string Server = "/usr/lib/rabbitmq/bin/rabbitmq-server";

    public static IResourceBuilder<RabbitMqExecutableResource> AddRabbitMqExecutable(this IDistributedApplicationBuilder builder, string name, string dataDirectory)
    {
        var password = builder.AddParameter($"{name}-password", () => ServerFiles.Password(Path.Combine(dataDirectory, "password")), secret: true);
        var (command, prefix) = ServerFiles.RunAs("rabbitmq", Server);
        var rabbit = new RabbitMqExecutableResource(name, command, dataDirectory, password.Resource);
        var epmdResource = new EpmdResource($"{name}-epmd", dataDirectory);
        var epmd = builder.AddResource(epmdResource)
            .WithEndpoint(name: "tcp", scheme: "tcp", env: "ERL_EPMD_PORT", isProxied: false)
            .WithEnvironment("ERL_EPMD_ADDRESS", "127.0.0.1")
            .WithHealthCheck(AddCheck(builder, $"{name}-epmd", _ => new EpmdHealthCheck(epmdResource)))
            .ExcludeFromManifest();

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(rabbit, (_, ct) => PrepareAsync(rabbit, ct));
        return builder.AddResource(rabbit)
            .WithArgs(prefix)
            .WithEndpoint(name: "tcp", scheme: "tcp", env: "RABBITMQ_NODE_PORT")
            .WithHttpEndpoint(name: "management")
            .WithEndpoint(name: "distribution", scheme: "tcp", env: "RABBITMQ_DIST_PORT", isProxied: false)
            .WithUrlForEndpoint("management", url => url.DisplayText = "Management UI")
            .WithUrlForEndpoint("tcp", url => url.DisplayLocation = UrlDisplayLocation.DetailsOnly)
            .WithUrlForEndpoint("distribution", url => url.DisplayLocation = UrlDisplayLocation.DetailsOnly)
            .WithEnvironment(context =>
            {
                var data = rabbit.DataDirectory;
                context.EnvironmentVariables["HOME"] = data; // the Erlang cookie lives here, 0400
                context.EnvironmentVariables["RABBITMQ_NODENAME"] = $"{name}@localhost";
                context.EnvironmentVariables["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
                context.EnvironmentVariables["ERL_EPMD_ADDRESS"] = "127.0.0.1";
                context.EnvironmentVariables["ERL_EPMD_PORT"] = epmd.Resource.Endpoint.Property(EndpointProperty.Port);
                context.EnvironmentVariables["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(data, "rabbitmq-env.conf");
                context.EnvironmentVariables["RABBITMQ_CONFIG_FILE"] = Path.Combine(data, "rabbitmq.conf");
                context.EnvironmentVariables["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(data, "advanced.config");
                context.EnvironmentVariables["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(data, "enabled_plugins");
                context.EnvironmentVariables["RABBITMQ_MNESIA_BASE"] = Path.Combine(data, "mnesia");
                context.EnvironmentVariables["RABBITMQ_LOG_BASE"] = Path.Combine(data, "log");
                context.EnvironmentVariables["RABBITMQ_PID_FILE"] = Path.Combine(data, "rabbitmq.pid");
                context.EnvironmentVariables["RABBITMQ_LOGS"] = "-";
                // The management listener and Erlang distribution on loopback; the rabbitmq-server script splits this on spaces.
                context.EnvironmentVariables["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = ReferenceExpression.Create(
                    $"-rabbitmq_management tcp_config [{{ip,\"127.0.0.1\"}},{{port,{rabbit.Management.Property(EndpointProperty.TargetPort)}}}] -kernel inet_dist_use_interface {{127,0,0,1}}");
                // Every Erlang VM of this environment uses the epmd resource and never starts an `epmd -daemon` of its own: the
                // node checks epmd now and then and, finding none (the AppHost stopping it first), runs an "epmd-starter" VM
                // whose daemon belongs to no resource and outlives the AppHost.
                context.EnvironmentVariables["ERL_FLAGS"] = "-start_epmd false";
            })
            .WithHealthCheck(AddCheck(builder, name, _ => new RabbitMqHealthCheck(rabbit)))
            .WaitFor(epmd)
            .WithIconName("Mail")
            .ExcludeFromManifest();
    }

    private static string AddCheck(IDistributedApplicationBuilder builder, string name, Func<IServiceProvider, IHealthCheck> check)
    {
        var key = $"{name}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(key, check, failureStatus: null, tags: null));
        return key;
    }

    /// <summary>Its folders, configuration (with the password: 0600) and plugins, owned by the rabbitmq user.</summary>
    private static async Task PrepareAsync(RabbitMqExecutableResource rabbit, CancellationToken cancellationToken)
    {
        if (!File.Exists(Server))
        {
            throw new InvalidOperationException("RabbitMQ is not installed: run ./build.sh run (it installs rabbitmq-server) or apt-get install rabbitmq-server.");
        }

        var data = ServerFiles.PrivateDirectory(rabbit.DataDirectory);
        Directory.CreateDirectory(Path.Combine(data, "mnesia"));
        Directory.CreateDirectory(Path.Combine(data, "log"));
        var password = await rabbit.Password.GetValueAsync(cancellationToken);
        // default_user applies when the node's database is created; kept across runs with the password file beside it.
        ServerFiles.WritePrivate(Path.Combine(data, "rabbitmq.conf"), $"""
            default_user = {RabbitMqExecutableResource.UserName}
            default_pass = {password}
            default_user_tags.administrator = true
            vm_memory_high_watermark.relative = 0.2
            """);
        ServerFiles.WritePrivate(Path.Combine(data, "enabled_plugins"), "[rabbitmq_management].");
        ServerFiles.WritePrivate(Path.Combine(data, "rabbitmq-env.conf"), "");
        await ServerFiles.OwnAsync("rabbitmq", data, cancellationToken);
    }
}

/// <summary>Healthy when an AMQP connection opens with the credentials and the management API answers.</summary>
internal sealed class RabbitMqHealthCheck(RabbitMqExecutableResource rabbit) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var uri = new Uri(await rabbit.ConnectionStringExpression.GetValueAsync(cancellationToken) ?? "");
            var factory = new ConnectionFactory { Uri = uri, RequestedConnectionTimeout = TimeSpan.FromSeconds(5), AutomaticRecoveryEnabled = false };
            await using (var connection = await factory.CreateConnectionAsync("aspire-health-check", cancellationToken))
            {
                await connection.CloseAsync(cancellationToken);
            }

            using var http = new HttpClient { BaseAddress = new Uri(rabbit.Management.Url), Timeout = TimeSpan.FromSeconds(5) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(uri.UserInfo)));
            using var overview = await http.GetAsync("api/overview", cancellationToken);
            return overview.IsSuccessStatusCode
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"The management API answered {(int)overview.StatusCode}.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy(ex.Message);
        }
    }
}

/// <summary>Healthy when epmd answers a NAMES request (its reply starts with its own port).</summary>
internal sealed class EpmdHealthCheck(EpmdResource epmd) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var port = epmd.Endpoint.Port;
        try
        {
            using var client = new TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await client.ConnectAsync("127.0.0.1", port, timeout.Token);
            await using var stream = client.GetStream();
            await stream.WriteAsync(new byte[] { 0, 1, (byte)'n' }, timeout.Token); // length 1, NAMES_REQ
            var reply = new byte[4];
            await stream.ReadExactlyAsync(reply, timeout.Token);
            var answered = (reply[0] << 24) | (reply[1] << 16) | (reply[2] << 8) | reply[3];
            return answered == port ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"epmd answered port {answered}, expected {port}.");
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy(ex.Message);
        }
    }
}
