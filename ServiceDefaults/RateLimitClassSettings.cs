using System.ComponentModel.DataAnnotations;

namespace CallLogs.ServiceDefaults;

/// <summary>A class of routes' limits; what is not set keeps the default the class declares in code.</summary>
public sealed class RateLimitClassSettings
{
    public int? PermitsPerSecond { get; set; }
    public int? Burst { get; set; }
    public int? Concurrency { get; set; }
    public int? QueueLimit { get; set; }
}
