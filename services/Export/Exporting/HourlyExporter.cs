using System.Diagnostics;
using CallLogs.Export.Data;
using CallLogs.Export.Extensions;
using CallLogs.ServiceDefaults.Background;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Every poll: plan the closed hours of every live profile, then upload every due object (the staging's cleanup runs
/// on its own, <see cref="StagingCleanupJob"/>, so that a long upload queue never delays it). A failure of one
/// profile's planning or of one object is that profile's or object's; a failure of a whole pass (the database away) is
/// logged and the next poll tries again. The first pass waits until the service has started: on a busy machine it
/// would take the processor from the start itself.
/// </summary>
public sealed partial class HourlyExporter(IServiceScopeFactory scopes, NpgsqlDataSource dataSource, IOptions<ExportOptions> options, TimeProvider clock,
    IHostApplicationLifetime lifetime, ILogger<HourlyExporter> logger)
    : PeriodicWorker(clock, logger, lifetime)
{
    protected override TimeSpan NextWait(DateTimeOffset lastStarted) => options.Value.PollInterval;

    /// <summary>One pass of planning and uploads; tests call it directly with an injected clock.</summary>
    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        List<Guid> profiles;
        await using (var scope = scopes.CreateAsyncScope())
        {
            profiles = await scope.ServiceProvider.GetRequiredService<ExportDbContext>().Profiles.Where(p => !p.Deleted).Select(p => p.Id).ToListAsync(cancellationToken);
        }

        var started = Stopwatch.GetTimestamp();
        var high = await StagingSequence.SafeHighAsync(dataSource, cancellationToken);
        var planned = 0;
        var stagedHours = new StagedHours();
        foreach (var profile in profiles)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                planned += await scope.ServiceProvider.GetRequiredService<HourPlanner>().PlanAsync(profile, high, stagedHours, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogPlanningFailed(Logger, ex, profile);
            }
        }

        var planning = Stopwatch.GetElapsedTime(started);
        var uploads = await Task.WhenAll(Enumerable.Range(0, options.Value.UploadConcurrency).Select(_ => UploadDueObjectsAsync(cancellationToken)));
        if (planned + uploads.Sum() > 0)
        {
            LogPass(Logger, profiles.Count, planned, planning.TotalSeconds, uploads.Sum(), (Stopwatch.GetElapsedTime(started) - planning).TotalSeconds);
        }
    }

    /// <summary>Uploads due objects one after the other until none is left; returns how many it took.</summary>
    private async Task<int> UploadDueObjectsAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        while (true)
        {
            await using var scope = scopes.CreateAsyncScope();
            if (!await scope.ServiceProvider.GetRequiredService<ObjectUploader>().UploadNextAsync(cancellationToken))
            {
                return count;
            }

            count++;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Export pass: {Profiles} profiles, {Planned} objects planned in {PlanSeconds:0.0} s, {Uploaded} uploads tried in {UploadSeconds:0.0} s")]
    private static partial void LogPass(ILogger logger, int profiles, int planned, double planSeconds, int uploaded, double uploadSeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Planning export profile {ProfileId} failed; the other profiles go on and it is tried again at the next poll")]
    private static partial void LogPlanningFailed(ILogger logger, Exception exception, Guid profileId);
}
