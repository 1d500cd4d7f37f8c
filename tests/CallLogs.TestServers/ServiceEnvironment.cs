using System.Security.Cryptography;
using Npgsql;

namespace CallLogs.TestServers;

/// <summary>
/// The environment a service is started with, in the conventions of a .NET Aspire AppHost, so a service runs
/// unchanged under a real one: <c>ConnectionStrings__&lt;resource&gt;</c>, <c>services__&lt;name&gt;__http__0</c>,
/// <c>OTEL_SERVICE_NAME</c> and <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.
/// </summary>
public static class ServiceEnvironment
{
    /// <summary>The Sealing:Key of every service this process starts (they must agree: ingest and profile seal, export and stream open).</summary>
    private static readonly string SealingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static Dictionary<string, string?> For(string service, InfrastructureEndpoints endpoints, string signingKey,
        IReadOnlyDictionary<string, int> ports, string? databaseName = null)
    {
        var name = service.ToLowerInvariant();
        var database = new NpgsqlConnectionStringBuilder(endpoints.PostgresAdmin) { Database = databaseName ?? $"{name}db" }.ConnectionString;
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports[service]}",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["OTEL_SERVICE_NAME"] = name,
            ["ConnectionStrings__messaging"] = endpoints.RabbitMq.ToString(),
            [$"ConnectionStrings__{name}db"] = database,
            ["ConnectionStrings__storage"] = endpoints.S3,
            ["RabbitMq__ManagementUrl"] = endpoints.RabbitMqManagement.ToString(),
            ["Auth__SigningKey"] = signingKey,
            ["Sealing__Key"] = SealingKey,
        };
        foreach (var (other, port) in ports)
        {
            environment[$"services__{other.ToLowerInvariant()}__http__0"] = $"http://127.0.0.1:{port}";
        }

        if (Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { } otlp)
        {
            environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
        }

        return environment;
    }
}
