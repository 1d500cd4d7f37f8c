using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace CallLogs.AppHost.Infrastructure;

/// <summary>How RabbitMQ, PostgreSQL and S3 run: as containers (Aspire's own integrations) or as executables.</summary>
public enum InfrastructureMode
{
    Executables,
    Containers,
}

/// <summary>
/// Settings of the servers, section <c>Infrastructure</c>. <c>Infrastructure:Mode</c> (<c>Infrastructure__Mode</c>)
/// forces <c>containers</c> or <c>executables</c>; unset or <c>auto</c>, containers are used when a container engine
/// answers. Without an engine Aspire's container resources would wait for ever, so the choice is made here.
/// </summary>
public static class InfrastructureSettings
{
    public const string ModeKey = "Infrastructure:Mode";
    public const string DataDirectoryKey = "Infrastructure:DataDirectory";

    public static InfrastructureMode Mode(IConfiguration configuration) => configuration[ModeKey]?.Trim().ToLowerInvariant() switch
    {
        "containers" => InfrastructureMode.Containers,
        "executables" => InfrastructureMode.Executables,
        null or "" or "auto" => ContainerEngineAnswers() ? InfrastructureMode.Containers : InfrastructureMode.Executables,
        var other => throw new InvalidOperationException($"{ModeKey} is '{other}': set it to containers, executables or auto."),
    };

    /// <summary>Where executables keep their data across runs: <c>.data/apphost</c> in the checkout unless set.</summary>
    public static string DataDirectory(IDistributedApplicationBuilder builder) =>
        Path.GetFullPath(builder.Configuration[DataDirectoryKey] is { Length: > 0 } configured
            ? configured
            : Path.Combine(builder.AppHostDirectory, "..", ".data", "apphost"));

    /// <summary>The engine Aspire would use (ASPIRE_CONTAINER_RUNTIME, else docker) answers <c>info</c> within a few seconds.</summary>
    private static bool ContainerEngineAnswers()
    {
        var runtime = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME")
            ?? Environment.GetEnvironmentVariable("DOTNET_ASPIRE_CONTAINER_RUNTIME") ?? "docker";
        try
        {
            using var info = Process.Start(new ProcessStartInfo(runtime, ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            });
            if (info is null)
            {
                return false;
            }

            info.StandardInput.Close();
            if (!info.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                info.Kill(entireProcessTree: true);
                return false;
            }

            return info.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No such program.
            return false;
        }
    }
}
