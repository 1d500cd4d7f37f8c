using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CallLogs.Testing;

namespace CallLogs.Audit.Tests;

/// <summary>
/// A CallLogs service as a real process (its built assembly on <c>dotnet</c>), so a test can kill it with SIGKILL at
/// the moment it chooses, as a crash would.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ServiceProcess(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    public Uri Url { get; }

    public string Log
    {
        get { lock (_log) { return _log.ToString(); } }
    }

    /// <summary>Starts <c>services/&lt;service&gt;</c>'s built assembly with <paramref name="environment"/> and waits until /health answers 200.</summary>
    public static async Task<ServiceProcess> StartAsync(string service, IDictionary<string, string> environment)
    {
        var assembly = Path.Combine(RepositoryRoot(), "services", service, "bin", Configuration(), "net10.0", $"CallLogs.{service}.dll");
        var port = FreePort();
        var url = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet", [assembly])
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["ASPNETCORE_URLS"] = url.ToString();
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        var process = Process.Start(start)!;
        var service1 = new ServiceProcess(process, url);
        process.OutputDataReceived += (_, e) => service1.Add(e.Data);
        process.ErrorDataReceived += (_, e) => service1.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();

        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            await Eventually.Until(async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"{service} exited with {process.ExitCode}:\n{service1.Log}");
                }

                try
                {
                    using var health = await http.GetAsync("/health");
                    return health.StatusCode == HttpStatusCode.OK;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(180), $"{service} answers /health");
        }
        catch
        {
            await service1.DisposeAsync();
            throw;
        }

        return service1;
    }

    /// <summary>SIGKILL: no shutdown code runs, open transactions are left to PostgreSQL to roll back.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CallLogs.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"CallLogs.sln not found above {AppContext.BaseDirectory}.");
    }

    private static string Configuration() =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
