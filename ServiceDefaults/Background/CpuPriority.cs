using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CallLogs.ServiceDefaults.Background;

public sealed class CpuPriorityOptions
{
    public const string SectionName = "CpuPriority";

    /// <summary>
    /// The service's nice value, 0 (as started) to 19 (runs only on what everything else leaves). A batch service sets
    /// it above 0 so that, when every core is busy, the live paths (ingest answering gateways, the stream's subscribers)
    /// run first and the batch work takes the rest: it still gets every idle cycle.
    /// </summary>
    [Range(0, 19)]
    public int Nice { get; set; }
}

/// <summary>
/// Gives the process the nice value of <see cref="CpuPriorityOptions.Nice"/>. Linux keeps a nice value per thread and a
/// new thread takes its creator's, so every thread of the process is set when the host starts, and again every minute
/// for a thread started since by one that was not set yet. A thread already nicer than that (the operator started the
/// service under <c>nice</c>) is left as it is. A platform that refuses is logged once and the service runs on as it
/// was started. Elsewhere than Linux the process's priority class goes below normal.
/// </summary>
public sealed partial class CpuPriority(IOptions<CpuPriorityOptions> options, ILogger<CpuPriority> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nice = options.Value.Nice;
        if (nice == 0)
        {
            return;
        }

        try
        {
            if (!OperatingSystem.IsLinux())
            {
                using var process = Process.GetCurrentProcess();
                process.PriorityClass = ProcessPriorityClass.BelowNormal;
                LogPriorityClass(logger, nice);
                return;
            }

            LogNice(logger, nice, Apply(nice));
            using var timer = new PeriodicTimer(Interval);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Apply(nice);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException or Win32Exception)
        {
            LogNotApplied(logger, e, nice);
        }
    }

    /// <summary>Sets every thread of the process whose nice value is below <paramref name="nice"/> to it; returns how many threads the process has.</summary>
    public static int Apply(int nice)
    {
        var threads = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            if (!int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                continue;
            }

            threads++;
            Marshal.SetLastPInvokeError(0);
            var current = getpriority(PrioProcess, id);
            if (Marshal.GetLastPInvokeError() == 0 && current < nice)
            {
                _ = setpriority(PrioProcess, id, nice); // a thread that ended meanwhile is no longer there to set
            }
        }

        return threads;
    }

    private const int PrioProcess = 0;

    [DllImport("libc", SetLastError = true)]
    private static extern int getpriority(int which, int who);

    [DllImport("libc", SetLastError = true)]
    private static extern int setpriority(int which, int who, int prio);

    [LoggerMessage(Level = LogLevel.Information, Message = "CPU priority: nice {Nice} on the {Threads} threads of the process, and on new ones every minute")]
    private static partial void LogNice(ILogger logger, int nice, int threads);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CPU priority: nice {Nice} could not be set on this platform; the service runs at the priority it was started with")]
    private static partial void LogNotApplied(ILogger logger, Exception exception, int nice);

    [LoggerMessage(Level = LogLevel.Information, Message = "CPU priority: nice {Nice} asked for; the process's priority class is below normal")]
    private static partial void LogPriorityClass(ILogger logger, int nice);
}
