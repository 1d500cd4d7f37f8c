using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using CallLogs.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

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

/// <summary>A class of routes' limits; what is not set keeps the default the class declares in code.</summary>
public sealed class RateLimitClassSettings
{
    public int? PermitsPerSecond { get; set; }
    public int? Burst { get; set; }
    public int? Concurrency { get; set; }
    public int? QueueLimit { get; set; }
}

/// <summary>A class of routes and its default limits: per caller a token bucket, per instance at most Concurrency at once (0: no cap).</summary>
public sealed record RateLimitClass(string Name, int PermitsPerSecond, int Burst, int Concurrency = 0, int QueueLimit = 0);

public static class RateLimits
{
    private const string DefaultClass = "default";

    /// <summary>Puts routes in a class of their own limits (e.g. ingest: many callers posting large batches).</summary>
    public static TBuilder WithRateLimitClass<TBuilder>(this TBuilder builder, RateLimitClass limits) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(limits);

    internal static IHostApplicationBuilder AddCallLogsRateLimiting(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((limiter, options) =>
        {
            var settings = options.Value;
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = OnRejectedAsync;
            if (!settings.Enabled)
            {
                return;
            }

            limiter.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(context =>
                {
                    var limits = Effective(context, settings);
                    return RateLimitPartition.GetTokenBucketLimiter($"{limits.Name}|{Caller(context)}", _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = limits.Burst,
                        TokensPerPeriod = limits.PermitsPerSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
                }),
                PartitionedRateLimiter.Create<HttpContext, string>(context =>
                {
                    var limits = Effective(context, settings);
                    return limits.Concurrency <= 0
                        ? RateLimitPartition.GetNoLimiter(limits.Name)
                        : RateLimitPartition.GetConcurrencyLimiter(limits.Name, _ => new ConcurrencyLimiterOptions
                        {
                            PermitLimit = limits.Concurrency,
                            QueueLimit = limits.QueueLimit,
                            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                        });
                }));
        });
        return builder;
    }

    /// <summary>The limits of the route's class, with what configuration overrides.</summary>
    private static RateLimitClass Effective(HttpContext context, RateLimitOptions settings)
    {
        var declared = context.GetEndpoint()?.Metadata.GetMetadata<RateLimitClass>()
            ?? new RateLimitClass(DefaultClass, settings.PermitsPerSecond, settings.Burst);
        return settings.Classes.TryGetValue(declared.Name, out var o)
            ? new RateLimitClass(declared.Name, o.PermitsPerSecond ?? declared.PermitsPerSecond, o.Burst ?? declared.Burst,
                o.Concurrency ?? declared.Concurrency, o.QueueLimit ?? declared.QueueLimit)
            : declared;
    }

    /// <summary>Who is calling: the token's area and subject, or the client's address when there is no token.</summary>
    private static string Caller(HttpContext context)
    {
        var user = context.User;
        return user.Identity?.IsAuthenticated == true
            ? $"{user.AreaId()?.ToString() ?? "-"}|{user.PrincipalId()}"
            : $"ip|{context.Connection.RemoteIpAddress ?? IPAddress.None}";
    }

    private static async ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests.",
                Detail = $"This caller sent more requests than this route takes at once. Nothing was done: send the same request again after {retryAfter} s (Retry-After), and fewer at a time.",
            },
        });
    }
}
