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
