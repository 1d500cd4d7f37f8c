using CallLogs.AppHost;
using CallLogs.AppHost.Hosting;

// dotnet run --project AppHost                          the whole system, until Ctrl+C
// dotnet run --project AppHost -- infra --env-file F    only RabbitMQ, PostgreSQL and S3; their addresses go to F (tests)
using var shutdown = new ShutdownSignal();
var console = new ConsoleLog();

return args.FirstOrDefault() switch
{
    null or "run" => await SystemHost.RunAsync(console, shutdown.Token),
    "infra" => await InfrastructureHost.RunAsync(args, console, shutdown.Token),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: CallLogs.AppHost [run] | infra --env-file <path>");
    return 2;
}
