using System.ComponentModel.DataAnnotations;
using CallLogs.Ingest.Data.Telephony;
using CallLogs.ServiceDefaults.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Ingest.Extensions;

public sealed class TelephonyOptions
{
    public const string SectionName = "Telephony";
    public const int DefaultCelCount = 20_000;

    /// <summary>Time of day (UTC) of the nightly generation that catches calls the real-time path missed.</summary>
    public TimeOnly NightlyGenerationAt { get; set; } = new(3, 0);

    /// <summary>CEL rows a nightly run reads per area.</summary>
    [Range(1, 10_000_000)]
    public int NightlyCelCount { get; set; } = DefaultCelCount;

    /// <summary>Call logs older than this are purged, unless the area sets its own retention.</summary>
    [Range(1, 36500)]
    public int DefaultRetentionDays { get; set; } = 365;

    /// <summary>Whether the nightly generation and daily purge run in this process (tests turn them off and call them).</summary>
    public bool RunScheduledJobs { get; set; } = true;
}

public static class TelephonyExtensions
{
    public static IHostApplicationBuilder AddTelephony(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelephonyOptions>().BindConfiguration(TelephonyOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.AddServiceDatabase<TelephonyDbContext>("ingestdb", npgsql => npgsql.MigrationsHistoryTable("__ef_migrations_telephony"));
        builder.Services.AddScoped<TelephonyGeneration>();
        builder.Services.AddScoped<TelephonyOperations>();
        builder.Services.AddSingleton<TelephonyJobs>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TelephonyJobs>());
        return builder;
    }
}

/// <summary>Nightly generation (missed calls) and daily purge past each area's retention.</summary>
public sealed partial class TelephonyJobs(IServiceScopeFactory scopes, IOptions<TelephonyOptions> options, TimeProvider clock, ILogger<TelephonyJobs> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.RunScheduledJobs)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            var next = new DateTimeOffset(DateOnly.FromDateTime(now.UtcDateTime).ToDateTime(options.Value.NightlyGenerationAt), TimeSpan.Zero);
            if (next <= now)
            {
                next = next.AddDays(1);
            }
            try
            {
                await Task.Delay(next - now, clock, stoppingToken);
                await RunNightlyAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogFailed(logger, ex);
            }
        }
    }

    /// <summary>For every area with CEL rows: generate from the newest unprocessed rows, then purge old call logs.</summary>
    public async Task RunNightlyAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TelephonyDbContext>();
        var generation = scope.ServiceProvider.GetRequiredService<TelephonyGeneration>();
        var areas = await db.Cels.Select(c => c.AreaId).Distinct().ToListAsync(ct);
        foreach (var area in areas)
        {
            var result = await generation.FromCountAsync(area, options.Value.NightlyCelCount, ct);
            LogGenerated(logger, area, result.Created, result.CelRows);
        }
        await PurgeAsync(ct);
    }

    public async Task<int> PurgeAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TelephonyDbContext>();
        var generation = scope.ServiceProvider.GetRequiredService<TelephonyGeneration>();
        var settings = await db.AreaSettings.AsNoTracking().ToDictionaryAsync(s => s.AreaId, s => s.RetentionDays, ct);
        var areas = await db.CallLogs.Select(c => c.AreaId).Distinct().ToListAsync(ct);
        var purged = 0;
        foreach (var area in areas)
        {
            purged += await generation.PurgeAsync(area, settings.GetValueOrDefault(area, options.Value.DefaultRetentionDays), clock.GetUtcNow(), ct);
        }
        return purged;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Nightly generation in area {AreaId}: {Created} call logs from {Rows} CEL rows")]
    private static partial void LogGenerated(ILogger logger, Guid areaId, int created, int rows);

    [LoggerMessage(Level = LogLevel.Error, Message = "Telephony nightly job failed; next try tomorrow")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
