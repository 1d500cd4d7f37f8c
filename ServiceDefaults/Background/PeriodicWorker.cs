using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CallLogs.ServiceDefaults.Background;

/// <summary>
/// A background job run in passes: <see cref="RunOnceAsync"/>, then a wait of <see cref="NextWait"/> on the injected
/// clock, again and again until the host stops. A failed pass is logged and the next one runs after the usual wait;
/// stopping the host cancels the pass or the wait under way.
/// </summary>
public abstract partial class PeriodicWorker : BackgroundService
{
    private readonly IHostApplicationLifetime? _lifetime;

    /// <param name="clock">The clock the waits run on.</param>
    /// <param name="logger">The job's own logger.</param>
    /// <param name="lifetime">When given, the first pass (or first wait) begins only once the host has started.</param>
    protected PeriodicWorker(TimeProvider clock, ILogger logger, IHostApplicationLifetime? lifetime = null)
    {
        Clock = clock;
        Logger = logger;
        _lifetime = lifetime;
    }

    protected TimeProvider Clock { get; }

    protected ILogger Logger { get; }

    /// <summary>Whether the first pass runs at start; otherwise it runs after a first wait.</summary>
    protected virtual bool RunsAtStart => true;

    /// <summary>One pass of the job; tests call it directly.</summary>
    public abstract Task RunOnceAsync(CancellationToken cancellationToken);

    /// <summary>The wait before the next pass, given when the last pass started (before the first: when the worker started).</summary>
    protected abstract TimeSpan NextWait(DateTimeOffset lastStarted);

    /// <summary>Runs after a failed pass has been logged, before the wait.</summary>
    protected virtual Task OnFailedAsync() => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (_lifetime is not null)
            {
                await StartedAsync(_lifetime, stoppingToken);
            }

            var started = Clock.GetUtcNow();
            if (!RunsAtStart)
            {
                await WaitAsync(NextWait(started), stoppingToken);
            }

            while (true)
            {
                started = Clock.GetUtcNow();
                try
                {
                    await RunOnceAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogFailed(Logger, ex, GetType().Name);
                    await OnFailedAsync();
                }

                await WaitAsync(NextWait(started), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken) =>
        Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Clock, cancellationToken);

    private static async Task StartedAsync(IHostApplicationLifetime lifetime, CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetResult()))
        {
            await started.Task;
        }

        stoppingToken.ThrowIfCancellationRequested();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Background job {Job} failed; its next pass tries again")]
    private static partial void LogFailed(ILogger logger, Exception exception, string job);
}
