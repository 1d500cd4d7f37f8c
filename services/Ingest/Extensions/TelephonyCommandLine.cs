using CallLogs.Ingest.Data.Telephony;

namespace CallLogs.Ingest.Extensions;

/// <summary>
/// <c>CallLogs.Ingest telephony generate [-c N | -d DAYS] --area ID</c> and
/// <c>CallLogs.Ingest telephony delete (-d DAYS | --all) --area ID</c>: the reference's wazo-call-logs.
/// </summary>
public static class TelephonyCommandLine
{
    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] == "telephony";

    /// <summary>A command line run listens on no public port.</summary>
    public static void Prepare(WebApplicationBuilder builder, string[] args)
    {
        if (IsCommand(args))
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration["Telephony:RunScheduledJobs"] = "false";
        }
    }

    /// <summary>Reports progress to the operation record and on the terminal.</summary>
    private static Func<long, long, Task> Print(Func<long, long, Task> progress) => async (done, total) =>
    {
        await progress(done, total);
        Console.Error.Write($"\r{done}/{total}");
    };

    public static async Task<int> RunAsync(WebApplication app, string[] args)
    {
        var command = args.Length > 1 ? args[1] : "generate";
        string? Value(params string[] names)
        {
            var i = Array.FindIndex(args, a => names.Contains(a));
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }
        if (!Guid.TryParse(Value("--area", "-a"), out var area))
        {
            await Console.Error.WriteLineAsync("Usage: telephony generate [-c CEL_COUNT | -d DAYS] --area AREA_ID\n       telephony delete (-d DAYS | --all) --area AREA_ID");
            return 2;
        }
        int? days = int.TryParse(Value("-d", "--days"), out var d) && d > 0 ? d : null;
        int count = int.TryParse(Value("-c", "--cel-count"), out var c) && c > 0 ? c : TelephonyOptions.DefaultCelCount;

        await app.StartAsync();
        try
        {
            await using var scope = app.Services.CreateAsyncScope();
            var generation = scope.ServiceProvider.GetRequiredService<TelephonyGeneration>();
            var operations = scope.ServiceProvider.GetRequiredService<TelephonyOperations>();
            var startedBy = $"command line ({Environment.UserName})";
            var now = app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
            switch (command)
            {
                case "generate":
                    var (_, result) = await operations.RunAsync(area, "telephony-generate", "calls", startedBy, progress => days is { } dd
                        ? generation.FromDaysAsync(area, dd, now, CancellationToken.None, Print(progress))
                        : generation.FromCountAsync(area, count, CancellationToken.None, Print(progress)), TelephonyOperations.Describe, CancellationToken.None);
                    await Console.Error.WriteLineAsync();
                    Console.WriteLine(TelephonyOperations.Describe(result));
                    return 0;
                case "delete" when days is not null || args.Contains("--all"):
                    var (_, deleted) = await operations.RunAsync(area, "telephony-delete", "call logs", startedBy,
                        progress => generation.DeleteAsync(area, days, now, CancellationToken.None, Print(progress)), n => $"Deleted {n} call logs", CancellationToken.None);
                    await Console.Error.WriteLineAsync();
                    Console.WriteLine($"Deleted {deleted} call logs");
                    return 0;
                default:
                    await Console.Error.WriteLineAsync("delete needs -d DAYS or --all; commands: generate, delete");
                    return 2;
            }
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
