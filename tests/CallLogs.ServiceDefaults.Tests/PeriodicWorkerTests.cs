using System.Threading.Channels;
using CallLogs.ServiceDefaults.Background;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CallLogs.ServiceDefaults.Tests;

/// <summary>The shared loop of background jobs, driven by a fake clock that tells when a wait has begun.</summary>
public sealed class PeriodicWorkerTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task After_a_failed_pass_the_job_waits_and_runs_again_and_stopping_ends_the_wait()
    {
        var clock = new WaitClock();
        using var worker = new Job(clock, runsAtStart: true, failFirst: true);

        await worker.StartAsync(CancellationToken.None);
        Assert.Equal(1, await worker.Passes.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        Assert.Equal(Interval, await clock.Waits.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        Assert.Equal(1, worker.Failures);

        clock.Advance(Interval);
        Assert.Equal(2, await worker.Passes.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        Assert.Equal(Interval, await clock.Waits.Reader.ReadAsync().AsTask().WaitAsync(Guard));

        await worker.StopAsync(CancellationToken.None);
        Assert.True(worker.ExecuteTask!.IsCompletedSuccessfully);
        Assert.Equal(1, worker.Failures);
    }

    [Fact]
    public async Task A_job_that_does_not_run_at_start_waits_first()
    {
        var clock = new WaitClock();
        using var worker = new Job(clock, runsAtStart: false, failFirst: false);

        await worker.StartAsync(CancellationToken.None);
        Assert.Equal(Interval, await clock.Waits.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        Assert.False(worker.Passes.Reader.TryRead(out _));

        clock.Advance(Interval);
        Assert.Equal(1, await worker.Passes.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        await worker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_job_given_the_host_lifetime_runs_its_first_pass_once_the_host_has_started()
    {
        var clock = new WaitClock();
        var lifetime = new Lifetime();
        using var worker = new Job(clock, runsAtStart: true, failFirst: false, lifetime);

        await worker.StartAsync(CancellationToken.None);
        Assert.False(worker.Passes.Reader.TryRead(out _));

        await lifetime.Started.CancelAsync();
        Assert.Equal(1, await worker.Passes.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        await worker.StopAsync(CancellationToken.None);
    }

    private sealed class Job(TimeProvider clock, bool runsAtStart, bool failFirst, IHostApplicationLifetime? lifetime = null)
        : PeriodicWorker(clock, NullLogger.Instance, lifetime)
    {
        private int _passes;

        public Channel<int> Passes { get; } = Channel.CreateUnbounded<int>();

        public int Failures { get; private set; }

        protected override bool RunsAtStart => runsAtStart;

        protected override TimeSpan NextWait(DateTimeOffset lastStarted) => Interval;

        public override Task RunOnceAsync(CancellationToken cancellationToken)
        {
            var pass = ++_passes;
            Passes.Writer.TryWrite(pass);
            return failFirst && pass == 1 ? Task.FromException(new InvalidOperationException("first pass fails")) : Task.CompletedTask;
        }

        protected override Task OnFailedAsync()
        {
            Failures++;
            return Task.CompletedTask;
        }
    }

    /// <summary>A fake clock that reports the length of every wait begun on it.</summary>
    private sealed class WaitClock() : FakeTimeProvider(DateTimeOffset.UnixEpoch)
    {
        public Channel<TimeSpan> Waits { get; } = Channel.CreateUnbounded<TimeSpan>();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Waits.Writer.TryWrite(dueTime);
            return timer;
        }
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationTokenSource Started { get; } = new();

        public CancellationToken ApplicationStarted => Started.Token;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
