using CallLogs.ServiceDefaults.Background;
using CallLogs.Telephony.Extensions;
using Microsoft.Extensions.Options;

namespace CallLogs.Telephony.Data;

/// <summary>
/// Nightly, at <see cref="TelephonyOptions.NightlyGenerationAt"/>: every area's newest unprocessed CEL rows are generated
/// (the calls the real-time path missed), then what is past each area's retention is purged. One instance runs it (a
/// PostgreSQL advisory lock); an area busy with another run is skipped until the next night.
/// </summary>
public sealed partial class TelephonyJobs(IServiceScopeFactory scopes, AreaLocks locks, IOptions<TelephonyOptions> options, TimeProvider clock,
    ILogger<TelephonyJobs> logger) : PeriodicWorker(clock, logger)
{
    protected override bool RunsAtStart => false;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.RunScheduledJobs ? base.ExecuteAsync(stoppingToken) : Task.CompletedTask;

    /// <summary>Until the next <see cref="TelephonyOptions.NightlyGenerationAt"/>.</summary>
    protected override TimeSpan NextWait(DateTimeOffset lastStarted)
    {
        var now = Clock.GetUtcNow();
        var next = new DateTimeOffset(DateOnly.FromDateTime(now.UtcDateTime).ToDateTime(options.Value.NightlyGenerationAt), TimeSpan.Zero);
        return (next > now ? next : next.AddDays(1)) - now;
    }

    public override Task RunOnceAsync(CancellationToken cancellationToken) => RunNightlyAsync(cancellationToken);

    /// <summary>Generation then purge for every area; false when another instance runs the nightly job right now.</summary>
    public async Task<bool> RunNightlyAsync(CancellationToken ct)
    {
        await using var nightly = await locks.TryNightlyAsync(ct);
        if (nightly is null)
        {
            LogNightlyElsewhere(Logger);
            return false;
        }

        await using var scope = scopes.CreateAsyncScope();
        var runs = scope.ServiceProvider.GetRequiredService<TelephonyRuns>();
        foreach (var area in await runs.AreasAsync(ct))
        {
            var generated = await runs.GenerateAsync(area, new GenerationSelection(options.Value.NightlyCelCount, null), "nightly job", ct);
            var purged = generated is null ? null : await runs.PurgeAsync(area, ct);
            if (generated is null || purged is null)
            {
                LogAreaBusy(Logger, area);
                continue;
            }

            LogDone(Logger, area, generated.Value.Result.Created, generated.Value.Result.CelRows, purged.Value.CallLogs, purged.Value.CelRows);
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Nightly run, area {AreaId}: {Created} call logs from {Rows} CEL rows; purged {PurgedLogs} call logs and {PurgedRows} CEL rows")]
    private static partial void LogDone(ILogger logger, Guid areaId, int created, int rows, int purgedLogs, int purgedRows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Nightly run skipped: another instance runs it")]
    private static partial void LogNightlyElsewhere(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Nightly run, area {AreaId}: skipped, another generation or purge of the area is running")]
    private static partial void LogAreaBusy(ILogger logger, Guid areaId);
}
