using CallLogs.ServiceDefaults.Background;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Once an hour, <see cref="StagingCleanup"/>, on its own beside <see cref="HourlyExporter"/>'s passes. The first pass
/// waits until the service has started.
/// </summary>
public sealed class StagingCleanupJob(IServiceScopeFactory scopes, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<StagingCleanupJob> logger)
    : PeriodicWorker(clock, logger, lifetime)
{
    protected override TimeSpan NextWait(DateTimeOffset lastStarted) => TimeSpan.FromHours(1);

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<StagingCleanup>().RunAsync(cancellationToken);
    }
}
