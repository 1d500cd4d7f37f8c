using System.Diagnostics;
using System.Security.Cryptography;

namespace CallLogs.AppHost.Infrastructure;

/// <summary>
/// Files of the servers run as executables: data folders owned by the server's system user when the AppHost runs as
/// root (PostgreSQL refuses root; RabbitMQ keeps its files as <c>rabbitmq</c>), and credentials readable by their
/// owner only.
/// </summary>
internal static class ServerFiles
{
    public static bool IsRoot { get; } = Environment.UserName == "root";

    /// <summary>The command line that runs <paramref name="program"/> as <paramref name="user"/> when we are root (setpriv execs it: same process, signals reach it).</summary>
    public static (string Command, string[] Arguments) RunAs(string user, string program) =>
        IsRoot ? ("setpriv", [$"--reuid={user}", $"--regid={user}", "--init-groups", program]) : (program, []);

    /// <summary>Creates a folder only its owner can enter.</summary>
    public static string PrivateDirectory(string path)
    {
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>The password kept in <paramref name="path"/> (mode 0600), made on first use.</summary>
    public static string Password(string path)
    {
        if (!File.Exists(path))
        {
            PrivateDirectory(Path.GetDirectoryName(path)!);
            WritePrivate(path, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(18)));
        }

        return File.ReadAllText(path).Trim();
    }

    /// <summary>Writes a file that only its owner can read (created 0600, never readable by others in between).</summary>
    public static void WritePrivate(string path, string content)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>Hands a folder and everything in it to <paramref name="user"/> (root only; otherwise it is ours already).</summary>
    public static async Task OwnAsync(string user, string path, CancellationToken cancellationToken)
    {
        if (IsRoot)
        {
            await RunAsync("chown", ["-R", $"{user}:{user}", path], cancellationToken);
        }
    }

    /// <summary>Runs a setup command to its end; its output becomes the exception when it fails.</summary>
    public static async Task RunAsync(string command, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(command, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command} did not start.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', info.ArgumentList)} failed ({process.ExitCode}): {await output}{await errors}");
        }
    }
}
