using System.Diagnostics;
using CallLogs.AppHost.Dashboard;
using CallLogs.AppHost.Hosting;
using CallLogs.ServiceDefaults.Auth;
using Npgsql;

namespace CallLogs.AppHost;

/// <summary>
/// The whole system on one machine, in the conventions of a .NET Aspire AppHost: servers first (private
/// instances, or existing ones from ConnectionStrings__messaging / __postgres / __storage), then the five
/// services with <c>ConnectionStrings__*</c>, <c>services__*__http__0</c>, <c>OTEL_*</c> set, restarted when they
/// crash; one resource table; every log line prefixed with its resource; Ctrl+C stops all of it.
/// </summary>
internal static class SystemHost
{
    public static readonly string[] Services = ["Profile", "Ingest", "Export", "Stream", "Audit"];

    public static async Task<int> RunAsync(ConsoleLog console, CancellationToken stopping)
    {
        var clock = Stopwatch.StartNew();
        LocalInfrastructure? local = null;
        DashboardServer? dashboard = null;
        var services = new List<ServiceResource>();
        var logs = new LogStore();
        console.LineWritten += logs.Add;
        try
        {
            var endpoints = ExistingEndpoints();
            if (endpoints is null)
            {
                console.Info("starting RabbitMQ, PostgreSQL and S3 (private instances under .data/apphost)");
                local = await LocalInfrastructure.StartAsync(Path.Combine(RepositoryPaths.Data, "apphost"), temporary: false, console.For, stopping);
                endpoints = local.Endpoints;
            }

            var signingKey = TokenIssuer.NewSigningKey();
            var ports = Services.ToDictionary(s => s, _ => Ports.Free());
            foreach (var service in Services)
            {
                var resource = new ServiceResource(service, ports[service], ServiceEnvironment.For(service, endpoints, signingKey, ports), console.For(service.ToLowerInvariant()));
                resource.StateChanged += r => console.Info($"==> {r.Name} is {r.State.ToString().ToLowerInvariant()}{(r.Restarts > 0 ? $" (restarted {r.Restarts} times)" : "")}");
                services.Add(resource);
            }

            foreach (var service in services)
            {
                service.Start();
            }

            var issuer = new TokenIssuer(signingKey);
            var figures = new FiguresCollector(services, endpoints.RabbitMqManagement, endpoints.RabbitMq,
                issuer.Issue(Roles.Operator, null, "apphost-dashboard", "AppHost dashboard", TimeSpan.FromDays(30)));
            dashboard = new DashboardServer(local?.Servers ?? [], services, logs, figures);
            await dashboard.StartAsync(stopping);
            _ = figures.RunAsync(stopping);

            await WaitHealthyAsync(services, TimeSpan.FromMinutes(3), stopping);
            console.Info(ResourceTable(local, endpoints, services, dashboard, clock.Elapsed));
            console.Info(await DemoTokens.PrintableAsync(issuer, services.First(s => s.Service == "Profile").Url, stopping));

            await Task.Delay(Timeout.Infinite, stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            console.Info("stopping: services, then servers");
            if (dashboard is not null)
            {
                await dashboard.DisposeAsync();
            }

            await Task.WhenAll(services.Select(s => s.DisposeAsync().AsTask()));
            if (local is not null)
            {
                await local.DisposeAsync();
            }

            console.Info("stopped; nothing left running");
        }

        return 0;
    }

    private static InfrastructureEndpoints? ExistingEndpoints()
    {
        var rabbit = System.Environment.GetEnvironmentVariable("ConnectionStrings__messaging");
        var postgres = System.Environment.GetEnvironmentVariable("ConnectionStrings__postgres");
        var s3 = System.Environment.GetEnvironmentVariable("ConnectionStrings__storage");
        if (rabbit is null || postgres is null || s3 is null)
        {
            return null;
        }

        var management = System.Environment.GetEnvironmentVariable("RABBITMQ_MANAGEMENT_URL") ?? "http://127.0.0.1:15672/";
        return new InfrastructureEndpoints(new Uri(rabbit), new Uri(management), postgres, s3);
    }

    private static async Task WaitHealthyAsync(IReadOnlyList<ServiceResource> services, TimeSpan timeout, CancellationToken stopping)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        cts.CancelAfter(timeout);
        try
        {
            while (services.Any(s => s.State != ResourceState.Healthy))
            {
                await Task.Delay(250, cts.Token);
            }
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            // Print the table anyway: it shows which service is not healthy.
        }
    }

    private static string ResourceTable(LocalInfrastructure? local, InfrastructureEndpoints endpoints, IReadOnlyList<ServiceResource> services,
        DashboardServer dashboard, TimeSpan elapsed)
    {
        var rows = new List<(string Name, string State, string Url)>();
        if (local is not null)
        {
            rows.AddRange(local.Servers.Select(s => (s.Name, "running", s.Url)));
        }
        else
        {
            rows.Add(("rabbitmq", "existing", endpoints.RabbitMqManagement.ToString()));
            rows.Add(("postgres", "existing", "(ConnectionStrings__postgres)"));
            rows.Add(("s3", "existing", "(ConnectionStrings__storage)"));
        }

        rows.AddRange(services.Select(s => (s.Name, s.State.ToString().ToLowerInvariant(), s.Url.ToString())));
        rows.Add(("dashboard", "running", dashboard.Url.ToString()));
        var lines = new List<string>
        {
            "",
            $"CallLogs is up ({elapsed.TotalSeconds:0.0} s). Resources:",
            $"  {"NAME",-10} {"STATE",-10} URL",
        };
        lines.AddRange(rows.Select(r => $"  {r.Name,-10} {r.State,-10} {r.Url}"));
        lines.Add($"Dashboard (operator token): {dashboard.LoginUrl}");
        lines.Add("Press Ctrl+C to stop everything.");
        return string.Join(System.Environment.NewLine, lines);
    }
}
