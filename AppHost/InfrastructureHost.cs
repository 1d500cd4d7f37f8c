using CallLogs.AppHost.Hosting;

namespace CallLogs.AppHost;

/// <summary>
/// Only the servers: started privately, their addresses written as shell assignments to the env file, kept
/// until SIGTERM. The test command runs the test assemblies against one set of servers this way.
/// </summary>
internal static class InfrastructureHost
{
    public static async Task<int> RunAsync(string[] args, ConsoleLog console, CancellationToken stopping)
    {
        var index = Array.IndexOf(args, "--env-file");
        if (index < 0 || index + 1 >= args.Length)
        {
            Console.Error.WriteLine("infra needs --env-file <path>");
            return 2;
        }

        var envFile = Path.GetFullPath(args[index + 1]);
        var quiet = args.Contains("--quiet");
        var directory = Path.Combine(RepositoryPaths.Data, $"infra-{Environment.ProcessId}");
        await using var infrastructure = await LocalInfrastructure.StartAsync(directory, temporary: true,
            name => quiet ? _ => { } : console.For(name), stopping);

        var lines = infrastructure.Endpoints.TestEnvironment.Select(kv => $"export {kv.Key}='{kv.Value}'");
        await File.WriteAllLinesAsync(envFile + ".tmp", lines, CancellationToken.None);
        File.Move(envFile + ".tmp", envFile, overwrite: true);
        console.Info($"infrastructure ready; addresses in {envFile}");

        try
        {
            await Task.Delay(Timeout.Infinite, stopping);
        }
        catch (OperationCanceledException)
        {
            console.Info("stopping infrastructure");
        }

        return 0;
    }
}
