using System.Net.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CallLogs.ServiceDefaults.Messaging;

/// <summary>
/// Whether RabbitMQ answers: the AMQP protocol header sent on a new TCP connection must be answered (with the server's
/// Connection.Start), or, for amqps, the connection must open. MassTransit's own check reports a bus without receive
/// endpoints (a service that only publishes) ready even while the broker is gone, so this one is what makes
/// <c>/health</c> not ready during a broker outage.
/// </summary>
internal sealed class BrokerHealthCheck(Uri broker) : IHealthCheck
{
    private static readonly byte[] ProtocolHeader = "AMQP\0\0\u0009\u0001"u8.ToArray();

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        var tls = broker.Scheme.Equals("amqps", StringComparison.OrdinalIgnoreCase);
        var port = broker.IsDefaultPort || broker.Port <= 0 ? (tls ? 5671 : 5672) : broker.Port;
        try
        {
            using var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync(broker.Host, port, timeout.Token);
            if (tls)
            {
                return HealthCheckResult.Healthy("The broker accepts connections.");
            }

            var stream = client.GetStream();
            await stream.WriteAsync(ProtocolHeader, timeout.Token);
            var answer = new byte[1];
            var read = await stream.ReadAsync(answer, timeout.Token);
            return read == 1 && answer[0] == 1
                ? HealthCheckResult.Healthy("The broker answers AMQP.")
                : HealthCheckResult.Unhealthy("The broker closed the connection without an AMQP answer.");
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"The broker at {broker.Host}:{port} did not answer: {ex.Message}");
        }
    }
}
