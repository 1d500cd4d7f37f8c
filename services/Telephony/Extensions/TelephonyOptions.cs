using System.ComponentModel.DataAnnotations;

namespace CallLogs.Telephony.Extensions;

public sealed class TelephonyOptions
{
    public const string SectionName = "Telephony";
    public const int DefaultCelCount = 20_000;
    public const int MaxCelCount = 10_000_000;
    public const int MaxDays = 36_500;

    /// <summary>Time of day (UTC) of the nightly generation that catches calls the real-time path missed.</summary>
    public TimeOnly NightlyGenerationAt { get; set; } = new(3, 0);

    /// <summary>CEL rows a nightly run reads per area.</summary>
    [Range(1, MaxCelCount)]
    public int NightlyCelCount { get; set; } = DefaultCelCount;

    /// <summary>Call logs older than this are purged with their CEL rows, unless the area sets its own retention.</summary>
    [Range(1, MaxDays)]
    public int DefaultRetentionDays { get; set; } = 365;

    /// <summary>Most CEL rows one POST may carry.</summary>
    [Range(1, 1_000_000)]
    public int MaxCelRowsPerRequest { get; set; } = 50_000;

    /// <summary>How far ahead of this server's clock a CEL event time may be (PBX clocks drift).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Whether the nightly generation and purge run in this process (tests turn them off and call them).</summary>
    public bool RunScheduledJobs { get; set; } = true;
}
