using CallLogs.TestServers;

// CallLogs.TestServers --env-file F [--quiet]: private RabbitMQ, PostgreSQL and S3 for one test run, their addresses
// written to F as shell assignments (CALLLOGS_TEST_*), kept until SIGTERM. ./build.sh test runs every test assembly
// against one set of servers this way; without it each test assembly starts its own (see Infrastructure in CallLogs.Testing).
using var shutdown = new ShutdownSignal();
var index = Array.IndexOf(args, "--env-file");
if (index < 0 || index + 1 >= args.Length)
{
    Console.Error.WriteLine("usage: CallLogs.TestServers --env-file <path> [--quiet]");
    return 2;
}

var envFile = Path.GetFullPath(args[index + 1]);
var quiet = args.Contains("--quiet");
var directory = Path.Combine(RepositoryPaths.Data, $"infra-{Environment.ProcessId}");
await using var infrastructure = await LocalInfrastructure.StartAsync(directory, temporary: true,
    name => quiet ? _ => { } : line => Console.WriteLine($"{name,-9}| {line}"), shutdown.Token);

var lines = infrastructure.Endpoints.TestEnvironment.Select(kv => $"export {kv.Key}='{kv.Value}'");
await File.WriteAllLinesAsync(envFile + ".tmp", lines, CancellationToken.None);
File.Move(envFile + ".tmp", envFile, overwrite: true);
Console.WriteLine($"test servers ready; addresses in {envFile}");

try
{
    await Task.Delay(Timeout.Infinite, shutdown.Token);
}
catch (OperationCanceledException)
{
    Console.WriteLine("stopping the test servers");
}

return 0;
