namespace CallLogs.ServiceDefaults;

/// <summary>A class of routes and its default limits: per caller a token bucket, per instance at most Concurrency at once (0: no cap).</summary>
public sealed record RateLimitClass(string Name, int PermitsPerSecond, int Burst, int Concurrency = 0, int QueueLimit = 0);
