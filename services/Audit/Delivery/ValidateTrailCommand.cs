using System.Globalization;
using CallLogs.Audit.Domain;

namespace CallLogs.Audit.Delivery;

/// <summary>
/// <c>CallLogs.Audit validate --area &lt;id|platform&gt; [--from &lt;ISO time&gt;] [--to &lt;ISO time&gt;]</c>: walks the
/// digest chain with the service's configuration and prints each file as VALID, CHANGED or MISSING. Exit code 0 when
/// everything is valid, 1 when something is not, 2 on bad arguments.
/// </summary>
public static class ValidateTrailCommand
{
    public const string Name = "validate";

    public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == Name;

    public static async Task<int> RunAsync(IServiceProvider services, string[] args, TextWriter output, TimeProvider clock)
    {
        string? Option(string name)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
        }

        var end = clock.GetUtcNow();
        if (Option("--area") is not { } area || !AreaKeys.TryParse(area, out var areaKey)
            || (Option("--to") is { } to && !DateTimeOffset.TryParse(to, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out end)))
        {
            await output.WriteLineAsync("usage: validate --area <area id|platform> [--from <ISO 8601 time>] [--to <ISO 8601 time>]");
            return 2;
        }

        var start = end.AddDays(-1);
        if (Option("--from") is { } from && !DateTimeOffset.TryParse(from, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out start))
        {
            await output.WriteLineAsync("--from is not an ISO 8601 time, e.g. 2026-11-23T10:00:00Z");
            return 2;
        }

        await using var scope = services.CreateAsyncScope();
        var report = await scope.ServiceProvider.GetRequiredService<TrailValidator>().ValidateAsync(areaKey, start, end, CancellationToken.None);
        foreach (var result in report.Results)
        {
            await output.WriteLineAsync($"{result.Status.ToString().ToUpperInvariant(),-8} {result.Kind,-6} {result.Key}{(result.Detail is null ? "" : $"  ({result.Detail})")}");
        }

        await output.WriteLineAsync($"{report.DigestsChecked} digests, {report.LogFilesChecked} log files checked from {start:O} to {end:O}: {(report.Valid ? "all valid" : "NOT VALID")}");
        return report.Valid ? 0 : 1;
    }
}
