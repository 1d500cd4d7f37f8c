using Microsoft.AspNetCore.Authentication.JwtBearer;
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

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>>((jwt, auth) => Configure(jwt, auth.Value));
        builder.Services.AddAuthorization();
        return builder;
    }

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
            ClockSkew = TimeSpan.FromSeconds(30),
        };

        if (!string.IsNullOrWhiteSpace(auth.Authority))
        {
            jwt.Authority = auth.Authority;
            jwt.RequireHttpsMetadata = auth.Authority.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            jwt.TokenValidationParameters.ValidIssuer = auth.Issuer;
            jwt.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(Convert.FromBase64String(auth.SigningKey!));
        }

        // Browsers cannot set headers on a WebSocket: SignalR sends the token as access_token.
        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = ctx =>
            {
                var token = ctx.Request.Query["access_token"];
                if (!string.IsNullOrEmpty(token) && ctx.HttpContext.WebSockets.IsWebSocketRequest)
                {
                    ctx.Token = token;
                }

                return Task.CompletedTask;
            },
        };
    }

    /// <summary>The signing key from configuration, for code that mints local tokens.</summary>
    public static string? LocalSigningKey(this IConfiguration configuration) => configuration[$"{AuthOptions.SectionName}:SigningKey"];
}
