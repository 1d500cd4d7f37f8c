using System.ComponentModel.DataAnnotations;

namespace CallLogs.ServiceDefaults;

/// <summary>
/// Rate limits of every route, per caller (the token's area and subject; the client address without a token): a token
/// bucket per caller and class of route, and for classes that say so a cap on the requests one instance serves at
/// once. Settings under <c>RateLimiting</c>; a class's own settings under <c>RateLimiting:Classes:{name}</c>.
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimiting";

    /// <summary>Off only for tests and benchmarks that measure something else.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Requests per second a caller may make on a route of no particular class, on average.</summary>
    [Range(1, 1_000_000)]
    public int PermitsPerSecond { get; set; } = 50;

    /// <summary>Requests a caller may make at once above the average.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; } = 100;

    /// <summary>Overrides of the defaults a class of routes declares (<see cref="RateLimits.WithRateLimitClass{TBuilder}"/>).</summary>
    public Dictionary<string, RateLimitClassSettings> Classes { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
