using System.Diagnostics.Metrics;
using CallLogs.Audit.Data;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Background;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Audit.Delivery;

/// <summary>
/// What operators watch of the trail, as metrics read from the database every few seconds: how long the oldest event
/// has waited for delivery to S3, and how long ago the newest digest period ended. Every instance reports the same
/// database-wide figures.
/// </summary>
public sealed class AuditFigures(IServiceScopeFactory scopes, TimeProvider clock, ILogger<AuditFigures> logger) : PeriodicWorker(clock, logger)
{
    private static double _deliveryDelay;
    private static double _sinceLastDigest;

    private static readonly ObservableGauge<double> DeliveryDelay = Telemetry.Meter.CreateObservableGauge("calllogs.audit.delivery_delay",
        () => Volatile.Read(ref _deliveryDelay), unit: "s", description: "How long the oldest event not yet in a delivered log file has waited");

    private static readonly ObservableGauge<double> SinceLastDigest = Telemetry.Meter.CreateObservableGauge("calllogs.audit.last_digest_age",
        () => Volatile.Read(ref _sinceLastDigest), unit: "s", description: "Time since the end of the newest digest's period (0 before the first digest)");

    protected override TimeSpan NextWait(DateTimeOffset lastStarted) => TimeSpan.FromSeconds(10);

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        var now = Clock.GetUtcNow();
        var oldest = await db.Events.Where(e => e.LogFileId == null).MinAsync(e => (DateTimeOffset?)e.ReceivedAt, cancellationToken);
        var digest = await db.Digests.MaxAsync(d => (DateTimeOffset?)d.PeriodEnd, cancellationToken);
        Volatile.Write(ref _deliveryDelay, oldest is { } o ? Math.Max(0, (now - o).TotalSeconds) : 0);
        Volatile.Write(ref _sinceLastDigest, digest is { } d ? Math.Max(0, (now - d).TotalSeconds) : 0);
    }
}
