using System.Net;
using System.Net.Sockets;

namespace CallLogs.Testing;

/// <summary>
/// A loopback TCP proxy in front of a real server, which a test can cut: <see cref="Pause"/> drops every open
/// connection and refuses new ones, as a server that went down; <see cref="Resume"/> lets connections through again.
/// Point a service's connection string at <see cref="Port"/>. <see cref="SentText"/> shows what clients sent (for
/// plain-text protocols such as HTTP: which headers a request carried).
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly List<(TcpClient Client, TcpClient Server)> _connections = [];
    private readonly Lock _lock = new();
    private TcpListener? _listener;
    private CancellationTokenSource _accepting = new();
    private readonly MemoryStream _sent = new();

    private TcpProxy(string targetHost, int targetPort, int port)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        Port = port;
    }

    public int Port { get; }
    public bool IsPaused { get; private set; }

    public static Task<TcpProxy> StartAsync(string targetHost, int targetPort)
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var proxy = new TcpProxy(targetHost, targetPort, port);
        proxy.Listen();
        return Task.FromResult(proxy);
    }

    /// <summary>Everything clients sent through the proxy so far, as Latin-1 text.</summary>
    public string SentText()
    {
        lock (_sent)
        {
            return System.Text.Encoding.Latin1.GetString(_sent.GetBuffer(), 0, (int)_sent.Length);
        }
    }

    /// <summary>A proxy in front of the host and port of a URI (amqp://, http://).</summary>
    public static Task<TcpProxy> StartAsync(Uri target) => StartAsync(target.Host, target.Port);

    public void Pause()
    {
        lock (_lock)
        {
            IsPaused = true;
            _accepting.Cancel();
            _listener?.Stop();
            _listener = null;
            foreach (var (client, server) in _connections)
            {
                client.Close();
                server.Close();
            }

            _connections.Clear();
        }
    }

    public void Resume()
    {
        lock (_lock)
        {
            if (!IsPaused)
            {
                return;
            }

            IsPaused = false;
            _accepting = new CancellationTokenSource();
            Listen();
        }
    }

    private void Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        _ = AcceptAsync(listener, _accepting.Token);
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ForwardAsync(client, cancellationToken);
        }
    }

    private async Task ForwardAsync(TcpClient client, CancellationToken cancellationToken)
    {
        var server = new TcpClient { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(_targetHost, _targetPort, cancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            client.Close();
            server.Dispose();
            return;
        }

        lock (_lock)
        {
            if (IsPaused)
            {
                client.Close();
                server.Close();
                return;
            }

            _connections.Add((client, server));
        }

        try
        {
            using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var up = Pump(client.GetStream(), server.GetStream(), _sent, both.Token);
            var down = Pump(server.GetStream(), client.GetStream(), null, both.Token);
            await Task.WhenAny(up, down);
            await both.CancelAsync();
        }
        finally
        {
            client.Close();
            server.Close();
            lock (_lock)
            {
                _connections.Remove((client, server));
            }
        }
    }

    private static async Task Pump(NetworkStream from, NetworkStream to, MemoryStream? record, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (record is not null && record.Length < 64 * 1024 * 1024)
                {
                    lock (record)
                    {
                        record.Write(buffer, 0, read);
                    }
                }

                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The other side closed or the proxy was paused.
        }
    }

    public ValueTask DisposeAsync()
    {
        Pause();
        return ValueTask.CompletedTask;
    }
}
