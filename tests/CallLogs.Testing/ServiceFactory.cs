using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.Testing;

/// <summary>
/// One CallLogs service in the test process, against the real servers of <see cref="Infrastructure"/>, with its
/// own fresh virtual host and database unless <c>overrides</c> say otherwise. <typeparamref name="TEntryPoint"/> is
/// any public type of the service's assembly.
/// </summary>
public sealed class ServiceFactory<TEntryPoint> : WebApplicationFactory<TEntryPoint> where TEntryPoint : class
{
    private readonly Action<IServiceCollection>? _configureServices;

    private ServiceFactory(IReadOnlyDictionary<string, string?> configuration, Action<IServiceCollection>? configureServices)
    {
        Configuration = configuration;
        _configureServices = configureServices;
    }

    /// <summary>With <c>kestrel</c>, the base address of the real HTTP server (for WebSocket and SignalR clients).</summary>
    public Uri BaseAddress => ClientOptions.BaseAddress;

    /// <summary>The settings the service was started with (connection strings among them).</summary>
    public IReadOnlyDictionary<string, string?> Configuration { get; }

    /// <summary>
    /// Starts the service (migrations applied, bus connected) and returns it. <paramref name="serviceName"/> is the
    /// short name (<c>profile</c>, <c>ingest</c>...): its database is <c>ConnectionStrings:{serviceName}db</c>.
    /// </summary>
    public static async Task<ServiceFactory<TEntryPoint>> StartAsync(Infrastructure infrastructure, string serviceName,
        IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? configureServices = null, bool kestrel = false)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = await infrastructure.NewRabbitMqVirtualHostAsync(),
            [$"ConnectionStrings:{serviceName}db"] = await infrastructure.NewDatabaseAsync(),
            ["ConnectionStrings:storage"] = infrastructure.S3ConnectionString,
            ["Auth:SigningKey"] = infrastructure.SigningKey,
            ["Sealing:Key"] = infrastructure.SealingKey,
            ["OTEL_SERVICE_NAME"] = serviceName,
            ["RabbitMq:ManagementUrl"] = infrastructure.RabbitMqManagementUri.ToString(),
            // Tests drive services faster than any one caller should in use; a test of the limits sets its own.
            ["RateLimiting:PermitsPerSecond"] = "100000",
            ["RateLimiting:Burst"] = "100000",
            // The service runs inside the test process: its CPU priority would be the tests' (and every other service's in it).
            ["CpuPriority:Nice"] = "0",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var factory = new ServiceFactory<TEntryPoint>(configuration, configureServices);
        if (kestrel)
        {
            factory.UseKestrel(0);
        }

        await Task.Run(() => factory.StartServer());
        return factory;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in Configuration)
        {
            builder.UseSetting(key, value);
        }

        if (_configureServices is not null)
        {
            builder.ConfigureTestServices(_configureServices);
        }
    }

    /// <summary>An HttpClient to the service; with <paramref name="token"/>, it sends it as a bearer token.</summary>
    public HttpClient CreateClient(string? token)
    {
        var client = CreateClient();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }
}
