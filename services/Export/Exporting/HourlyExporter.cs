using CallLogs.Export.Data;
using CallLogs.Export.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Export.Exporting;

/// <summary>Every poll: plan the closed hours of every live profile, then upload every due object; once an hour, clean up the staging.</summary>
public sealed partial class HourlyExporter(IServiceScopeFactory scopes, IOptions<ExportOptions> options, TimeProvider clock, ILogger<HourlyExporter> logger)
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

        foreach (var profile in profiles)
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<HourPlanner>().PlanAsync(profile, cancellationToken);
        }

        while (true)
        {
            await using var scope = scopes.CreateAsyncScope();
            if (!await scope.ServiceProvider.GetRequiredService<ObjectUploader>().UploadNextAsync(cancellationToken))
            {
                break;
            }
        }

        if (clock.GetUtcNow() - _lastCleanup >= TimeSpan.FromHours(1))
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<StagingCleanup>().RunAsync(cancellationToken);
            _lastCleanup = clock.GetUtcNow();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Export pass failed; trying again at the next poll")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
