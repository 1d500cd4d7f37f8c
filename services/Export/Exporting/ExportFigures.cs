using System.Diagnostics.Metrics;
using CallLogs.Export.Data;
using CallLogs.Export.Extensions;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Background;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Export.Exporting;

/// <summary>
/// What operators watch of the export, as metrics read from the database every few seconds: hours waiting to be
/// written, how far the most behind live profile lags, and each running re-export's progress. Every instance
/// reports the same database-wide figures.
/// </summary>
public sealed class ExportFigures(IServiceScopeFactory scopes, IOptions<ExportOptions> options, TimeProvider clock, ILogger<ExportFigures> logger)
    : PeriodicWorker(clock, logger)
{
    private static long _hoursPending;
    private static double _lagSeconds;

    private static readonly ObservableGauge<long> HoursPending = Telemetry.Meter.CreateObservableGauge("calllogs.export.hours_pending",
        () => Volatile.Read(ref _hoursPending), unit: "{hour}", description: "Profile hours planned but not yet written to S3");

    private static readonly ObservableGauge<double> Lag = Telemetry.Meter.CreateObservableGauge("calllogs.export.lag",
        () => Volatile.Read(ref _lagSeconds), unit: "s", description: "How far the last written hour (plus grace) of the most behind live profile lies behind now");

    private HashSet<Guid> _reExports = [];

    protected override TimeSpan NextWait(DateTimeOffset lastStarted) => TimeSpan.FromSeconds(10);

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ExportDbContext>();
        var now = Clock.GetUtcNow();
        Volatile.Write(ref _hoursPending, await db.Objects.Where(o => !o.Uploaded).Select(o => new { o.ProfileId, o.HourStart }).Distinct().LongCountAsync(cancellationToken));
        var lastWritten = await db.Objects.Where(o => o.Uploaded && db.Profiles.Any(p => p.Id == o.ProfileId && p.Enabled && !p.Deleted))
            .GroupBy(o => o.ProfileId).Select(g => g.Max(o => o.HourStart)).ToListAsync(cancellationToken);
        Volatile.Write(ref _lagSeconds, lastWritten.Select(h => Math.Max(0, (now - h.AddHours(1) - options.Value.GracePeriod).TotalSeconds)).DefaultIfEmpty(0).Max());

        var running = await db.ReExports.Select(r => new { r.Id, r.Objects, Pending = db.Objects.Count(o => o.ReExportId == r.Id && !o.Uploaded) })
            .Where(r => r.Pending > 0).ToListAsync(cancellationToken);
        foreach (var finished in _reExports.Except(running.Select(r => r.Id)))
        {
            OperationProgress.Finish(finished);
        }

        _reExports = [.. running.Select(r => r.Id)];
        foreach (var reExport in running)
        {
            OperationProgress.Report(reExport.Id, "export-reexport", reExport.Objects - reExport.Pending, reExport.Objects);
        }
    }
}
