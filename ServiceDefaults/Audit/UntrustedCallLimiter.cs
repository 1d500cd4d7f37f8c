using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// Bounds what refused calls from outside (no valid token, another area) can add to the platform trail: per source
/// address, the first <see cref="AuditCaptureOptions.UntrustedEventsPerSourcePerMinute"/> of a minute are recorded,
/// the rest only counted; the next one recorded from that source carries the count. Memory is bounded too: past
/// <see cref="MaxSources"/> addresses the table starts again (the counts of that minute are then only in the metric).
/// </summary>
public sealed class UntrustedCallLimiter(IOptions<AuditCaptureOptions> options, TimeProvider clock)
{
    public const int MaxSources = 10_000;

    private readonly ConcurrentDictionary<string, Window> _windows = new();

    /// <summary>True when this call is recorded; <paramref name="suppressedBefore"/> is how many from the source were not, since the last recorded one.</summary>
    public bool TryRecord(string source, out long suppressedBefore)
    {
        if (_windows.Count >= MaxSources)
        {
            _windows.Clear();
        }

        var minute = clock.GetUtcNow().ToUnixTimeSeconds() / 60;
        var window = _windows.GetOrAdd(source, _ => new Window());
        lock (window)
        {
            if (window.Minute != minute)
            {
                window.Minute = minute;
                window.Recorded = 0;
            }

            if (window.Recorded < options.Value.UntrustedEventsPerSourcePerMinute)
            {
                window.Recorded++;
                suppressedBefore = window.Suppressed;
                window.Suppressed = 0;
                return true;
            }

            window.Suppressed++;
            suppressedBefore = 0;
            return false;
        }
    }

    private sealed class Window
    {
        public long Minute;
        public int Recorded;
        public long Suppressed;
    }
}
