using System.Diagnostics;
using System.Text.RegularExpressions;
using CallLogs.AppHost.Hosting;
using CallLogs.Testing;

namespace CallLogs.EndToEnd.Tests;

/// <summary>The AppHost program itself: starts the services, restarts a crashed one, and leaves nothing behind.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed partial class AppHostTests(Infrastructure infra)
{
    [Fact]
    public async Task A_service_that_crashes_is_restarted_and_becomes_healthy_again()
    {
        await using var system = await RunningSystem.StartAsync(infra);
        var export = system["Export"];
        var crashed = export.ProcessId!.Value;

        Process.GetProcessById(crashed).Kill();

        await Eventually.Until(() => export.Restarts == 1 && export.State == ResourceState.Healthy && export.ProcessId != crashed,
            TimeSpan.FromSeconds(90), "export restarted and healthy");
    }

    [Fact]
    public async Task The_apphost_runs_the_system_on_existing_servers_and_on_sigterm_stops_everything_and_exits_0()
    {
        var output = new OutputTail(2000);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__messaging"] = await infra.NewRabbitMqVirtualHostAsync(),
            ["ConnectionStrings__postgres"] = infra.PostgresAdminConnectionString,
            ["ConnectionStrings__storage"] = infra.S3ConnectionString,
            ["RABBITMQ_MANAGEMENT_URL"] = infra.RabbitMqManagementUri.ToString(),
        };
        var appHost = Path.Combine(AppContext.BaseDirectory, "CallLogs.AppHost.dll");
        await using var process = ManagedProcess.Start("dotnet", [appHost, "run"], environment, line =>
        {
            output.Add(line);
            if (line.StartsWith("CallLogs is up", StringComparison.Ordinal))
            {
                up.TrySetResult();
            }
        });

        await up.Task.WaitAsync(TimeSpan.FromMinutes(3));
        await Eventually.Until(() => output.ToString().Contains("Tokens for this run"), TimeSpan.FromSeconds(30));
        var table = output.ToString();
        var urls = ServiceRow().Matches(table).Select(m => new Uri(m.Groups["url"].Value)).ToList();
        Assert.Equal(5, urls.Count);
        using var http = new HttpClient();
        foreach (var url in urls)
        {
            using var health = await http.GetAsync(new Uri(url, "/health"));
            Assert.True(health.IsSuccessStatusCode, $"{url} answered {health.StatusCode}");
        }

        await process.StopAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, process.ExitCode);
        foreach (var url in urls)
        {
            Assert.False(await Ports.AcceptsAsync(url.Port, CancellationToken.None), $"something still listens on {url}");
        }
    }

    [GeneratedRegex(@"^\s+(profile|ingest|export|stream|audit)\s+healthy\s+(?<url>http://\S+)", RegexOptions.Multiline)]
    private static partial Regex ServiceRow();
}
