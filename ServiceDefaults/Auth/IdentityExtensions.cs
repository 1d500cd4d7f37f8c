using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace CallLogs.ServiceDefaults.Auth;

public static class IdentityExtensions
{
    /// <summary>JWT bearer authentication against the configured issuer or the local signing key.</summary>
    public static IHostApplicationBuilder AddCallLogsIdentity(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AuthOptions>>(new SecureAuthority(builder.Environment));

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>>((jwt, auth) => Configure(jwt, auth.Value));
        builder.Services.AddAuthorization();
        return builder;
    }

    /// <summary>
    /// Lets this route take its bearer token from the <c>access_token</c> query parameter: only for WebSocket and
    /// SignalR routes, where browsers cannot set headers. Everywhere else a token in the URL (which ends up in logs and
    /// browser history) is ignored.
    /// </summary>
    public static TBuilder AllowAccessTokenInQuery<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(QueryStringToken.Allowed);

    private static void Configure(JwtBearerOptions jwt, AuthOptions auth)
    {
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            NameClaimType = CallLogsClaims.Name,
            RoleClaimType = CallLogsClaims.Role,
            ValidAudience = auth.Audience,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
        };

        if (!string.IsNullOrWhiteSpace(auth.Authority))
        {
            jwt.Authority = auth.Authority;
            jwt.RequireHttpsMetadata = auth.Authority.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            jwt.TokenValidationParameters.ValidAlgorithms = auth.SigningAlgorithms;
        }
        else
        {
            jwt.TokenValidationParameters.ValidIssuer = auth.Issuer;
            jwt.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(Convert.FromBase64String(auth.SigningKey!));
            jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
        }

        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = ctx =>
            {
                var token = ctx.Request.Query["access_token"];
                if (!string.IsNullOrEmpty(token) && ctx.HttpContext.GetEndpoint()?.Metadata.GetMetadata<QueryStringToken>() is not null)
                {
                    ctx.Token = token;
                }

                return Task.CompletedTask;
            },
        };
    }

    private sealed class QueryStringToken
    {
        public static readonly QueryStringToken Allowed = new();
    }

    /// <summary>Outside Development the issuer's keys must come over https: an http:// authority stops the service at start.</summary>
    private sealed class SecureAuthority(IHostEnvironment environment) : IValidateOptions<AuthOptions>
    {
        public ValidateOptionsResult Validate(string? name, AuthOptions options) =>
            !string.IsNullOrWhiteSpace(options.Authority) && !environment.IsDevelopment()
                && !options.Authority.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
                ? ValidateOptionsResult.Fail($"Auth:Authority is {options.Authority}: outside Development the issuer must be an https:// URI, so its signing keys cannot be swapped on the way.")
                : ValidateOptionsResult.Success;
    }
}
