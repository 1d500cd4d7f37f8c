using System.Diagnostics;
using CallLogs.Export.Data;
using CallLogs.Export.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CallLogs.Export.Exporting;

/// <summary>Every poll: plan the closed hours of every live profile, then upload every due object; once an hour, clean up the staging.</summary>
public sealed partial class HourlyExporter(IServiceScopeFactory scopes, NpgsqlDataSource dataSource, IOptions<ExportOptions> options, TimeProvider clock,
    ILogger<HourlyExporter> logger)
    : BackgroundService
{
    private DateTimeOffset _lastCleanup = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex);
            }

            try
            {
                await Task.Delay(options.Value.PollInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One pass; tests call it directly with an injected clock.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        List<Guid> profiles;
        await using (var scope = scopes.CreateAsyncScope())
        {
            profiles = await scope.ServiceProvider.GetRequiredService<ExportDbContext>().Profiles.Where(p => !p.Deleted).Select(p => p.Id).ToListAsync(cancellationToken);
        }

        var started = Stopwatch.GetTimestamp();
        var high = await StagingSequence.SafeHighAsync(dataSource, cancellationToken);
        var planned = 0;
        foreach (var profile in profiles)
        {
            await using var scope = scopes.CreateAsyncScope();
            planned += await scope.ServiceProvider.GetRequiredService<HourPlanner>().PlanAsync(profile, high, cancellationToken);
        }

        var planning = Stopwatch.GetElapsedTime(started);
        var uploads = await Task.WhenAll(Enumerable.Range(0, options.Value.UploadConcurrency).Select(_ => UploadDueObjectsAsync(cancellationToken)));
        if (planned + uploads.Sum() > 0)
        {
            LogPass(logger, profiles.Count, planned, planning.TotalSeconds, uploads.Sum(), (Stopwatch.GetElapsedTime(started) - planning).TotalSeconds);
        }

        if (clock.GetUtcNow() - _lastCleanup >= TimeSpan.FromHours(1))
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<StagingCleanup>().RunAsync(cancellationToken);
            _lastCleanup = clock.GetUtcNow();
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Export pass failed; trying again at the next poll")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
