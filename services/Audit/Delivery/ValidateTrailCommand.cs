using System.Globalization;
using CallLogs.Audit.Data;
using CallLogs.Audit.Domain;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Audit.Delivery;

/// <summary>
/// <c>CallLogs.Audit validate --area &lt;id|platform&gt; [--area-trail] [--from &lt;ISO time&gt;] [--to &lt;ISO time&gt;]</c>: walks
/// the digest chain with the service's configuration (the area's chain in the platform trail, or with <c>--area-trail</c>
/// the area's own trail) and prints each file as VALID, CHANGED, MISSING or NOTYETDIGESTED. Exit code 0 when everything
/// digested is valid, 1 when something is not or nothing is digested yet, 2 on bad arguments.
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
            await output.WriteLineAsync("usage: validate --area <area id|platform> [--area-trail] [--from <ISO 8601 time>] [--to <ISO 8601 time>]");
            return 2;
        }

        var start = end.AddDays(-1);
        if (Option("--from") is { } from && !DateTimeOffset.TryParse(from, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out start))
        {
            await output.WriteLineAsync("--from is not an ISO 8601 time, e.g. 2026-11-23T10:00:00Z");
            return 2;
        }

        await using var scope = services.CreateAsyncScope();
        AreaTrail? trail = null;
        if (args.Contains("--area-trail"))
        {
            trail = Guid.TryParse(areaKey, out var areaId)
                ? await scope.ServiceProvider.GetRequiredService<AuditDbContext>().Trails.AsNoTracking().FirstOrDefaultAsync(t => t.AreaId == areaId)
                : null;
            if (trail is null)
            {
                await output.WriteLineAsync($"Area {areaKey} has no trail of its own; leave out --area-trail to validate its files in the platform trail.");
                return 2;
            }
        }

        var report = await scope.ServiceProvider.GetRequiredService<TrailValidator>().ValidateAsync(trail, areaKey, start, end, CancellationToken.None);
        foreach (var result in report.Results)
        {
            await output.WriteLineAsync($"{result.Status.ToString().ToUpperInvariant(),-8} {result.Kind,-6} {result.Key}{(result.Detail is null ? "" : $"  ({result.Detail})")}");
        }

        var verdict = report.Status switch
        {
            "Valid" => "all valid",
            "NoDigestYet" => "NO DIGEST YET (files were delivered, but no digest covers them yet: nothing can be proven)",
            "NothingDelivered" => "nothing delivered in this range",
            _ => "NOT VALID",
        };
        await output.WriteLineAsync($"{report.DigestsChecked} digests, {report.LogFilesChecked} log files checked from {start:O} to {end:O}: {verdict}");
        return report.Valid ? 0 : 1;
    }
}
