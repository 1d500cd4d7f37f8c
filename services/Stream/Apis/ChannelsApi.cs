using CallLogs.Contracts;
using CallLogs.ServiceDefaults;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.Stream.Data;
using CallLogs.Stream.Extensions;
using CallLogs.Stream.Subscriptions;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CallLogs.Stream.Apis;

/// <summary>
/// An area's live channel and its access tokens. Area admins only (viewers and everyone else get 403, other areas
/// 404). One channel per area, never deleted; at most one enabled token; a token's secret is shown once.
/// </summary>
public static class ChannelsApi
{
    public sealed record ChannelResponse(Guid Id, Guid AreaId, string Name, string? Description, string Status, bool MaskSensitiveData,
        int UnmaskedCharacters, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<TokenResponse> Tokens);

    /// <summary><see cref="Secret"/> and <see cref="SubscribeUrl"/> are given only in the answer that creates the token.</summary>
    public sealed record TokenResponse(Guid Id, string Status, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? Secret = null, string? SubscribeUrl = null);

    public sealed record UpdateChannelRequest(string? Name, string? Description, bool? Enabled, bool? MaskSensitiveData, int? UnmaskedCharacters);

    public sealed class UpdateChannelRequestValidator : AbstractValidator<UpdateChannelRequest>
    {
        public UpdateChannelRequestValidator()
        {
            RuleFor(r => r.Name).Must(name => name is null || (!string.IsNullOrWhiteSpace(name) && name.Length <= 200))
                .WithMessage("Name must be 1 to 200 characters.");
            RuleFor(r => r.Description).MaximumLength(2000).WithMessage("Description must be at most 2000 characters.");
            RuleFor(r => r.UnmaskedCharacters).InclusiveBetween(0, 127)
                .WithMessage("Number of characters to leave unmasked must be from 0 to 127 (0 masks the whole value).");
        }
    }

    public static IEndpointRouteBuilder MapChannelsApi(this IEndpointRouteBuilder app)
    {
        var channel = app.MapGroup("/api/areas/{areaId:guid}/stream-channel").WithTags("Stream channel");
        channel.MapPost("/", CreateStreamChannel).WithName("CreateStreamChannel").RequireAreaRole(Roles.AreaAdmin);
        channel.MapGet("/", GetStreamChannel).WithName("GetStreamChannel").RequireAreaRole(Roles.AreaAdmin);
        channel.MapPatch("/", UpdateStreamChannel).WithName("UpdateStreamChannel").RequireAreaRole(Roles.AreaAdmin);
        channel.MapDelete("/", DeleteStreamChannel).WithName("DeleteStreamChannel").RequireAreaRole(Roles.AreaAdmin);
        channel.MapPost("/tokens", CreateStreamToken).WithName("CreateStreamToken").RequireAreaRole(Roles.AreaAdmin);
        channel.MapPost("/tokens/{tokenId:guid}/enable", EnableStreamToken).WithName("EnableStreamToken").RequireAreaRole(Roles.AreaAdmin);
        channel.MapPost("/tokens/{tokenId:guid}/disable", DisableStreamToken).WithName("DisableStreamToken").RequireAreaRole(Roles.AreaAdmin);
        return app;
    }

    /// <summary>The "Generate" step: the area's channel, named after the area, with its first token.</summary>
    public static async Task<Created<ChannelResponse>> CreateStreamChannel(Guid areaId, HttpContext http, StreamDbContext db, TimeProvider clock,
        IOptions<StreamOptions> options, CancellationToken cancellationToken)
    {
        if (await db.Channels.AsNoTracking().FirstOrDefaultAsync(c => c.AreaId == areaId, cancellationToken) is { } existing)
        {
            throw ChannelExists(existing.Id);
        }

        var now = clock.GetUtcNow();
        var areaName = await db.Areas.Where(a => a.AreaId == areaId).Select(a => a.Name).FirstOrDefaultAsync(cancellationToken);
        var channel = new Channel { Id = Guid.NewGuid(), AreaId = areaId, Name = $"Channel for {areaName ?? areaId.ToString()}", CreatedAt = now, UpdatedAt = now };
        var (token, secret) = NewToken(channel.Id, now);
        db.Channels.Add(channel);
        db.AccessTokens.Add(token);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            var winner = await db.Channels.AsNoTracking().Where(c => c.AreaId == areaId).Select(c => c.Id).FirstAsync(CancellationToken.None);
            throw ChannelExists(winner);
        }

        var response = ToResponse(channel, [ToResponse(token, secret, SubscribeUrl(http, options.Value, channel, secret))]);
        return TypedResults.Created($"/api/areas/{areaId}/stream-channel", response);
    }

    public static async Task<Ok<ChannelResponse>> GetStreamChannel(Guid areaId, StreamDbContext db, CancellationToken cancellationToken)
    {
        var channel = await db.Channels.AsNoTracking().FirstOrDefaultAsync(c => c.AreaId == areaId, cancellationToken) ?? throw NoChannel();

        var tokens = await db.AccessTokens.AsNoTracking().Where(t => t.ChannelId == channel.Id).OrderBy(t => t.CreatedAt).ToListAsync(cancellationToken);
        return TypedResults.Ok(ToResponse(channel, tokens.Select(t => ToResponse(t)).ToList()));
    }

    public static async Task<Ok<ChannelResponse>> UpdateStreamChannel(Guid areaId, UpdateChannelRequest request,
        StreamDbContext db, SubscriberRegistry registry, TimeProvider clock, CancellationToken cancellationToken)
    {
        var channel = await db.Channels.FirstOrDefaultAsync(c => c.AreaId == areaId, cancellationToken) ?? throw NoChannel();

        var maskingBefore = channel.MaskSensitiveData ? channel.UnmaskedCharacters : (int?)null;
        channel.Name = request.Name?.Trim() ?? channel.Name;
        channel.Description = request.Description ?? channel.Description;
        channel.MaskSensitiveData = request.MaskSensitiveData ?? channel.MaskSensitiveData;
        channel.UnmaskedCharacters = request.UnmaskedCharacters ?? channel.UnmaskedCharacters;
        var disabling = request.Enabled == false && channel.Enabled;
        channel.Enabled = request.Enabled ?? channel.Enabled;
        channel.UpdatedAt = clock.GetUtcNow();
        if (disabling)
        {
            db.AddOutboxMessage(new StreamAccessRevoked { AreaId = areaId, ChannelId = channel.Id, Reason = "The channel was disabled." }, clock);
        }

        // Open subscriptions follow a masking change at once: here, and on every other instance through the event.
        var masking = channel.MaskSensitiveData ? channel.UnmaskedCharacters : (int?)null;
        if (masking != maskingBefore)
        {
            db.AddOutboxMessage(new StreamChannelMaskingChanged { AreaId = areaId, ChannelId = channel.Id, UnmaskedCharacters = masking, ChangedAt = channel.UpdatedAt }, clock);
        }

        await db.SaveChangesAsync(cancellationToken);
        if (masking != maskingBefore)
        {
            registry.ApplyMasking(channel.Id, masking);
        }

        var tokens = await db.AccessTokens.AsNoTracking().Where(t => t.ChannelId == channel.Id).OrderBy(t => t.CreatedAt).ToListAsync(cancellationToken);
        return TypedResults.Ok(ToResponse(channel, tokens.Select(t => ToResponse(t)).ToList()));
    }

    public static IResult DeleteStreamChannel(Guid areaId) =>
        throw new ProblemException(StatusCodes.Status405MethodNotAllowed, "A channel cannot be deleted.",
            "An area keeps its channel once it is created. Disable the channel (PATCH with enabled: false) or its token to stop all subscriptions.");

    public static async Task<Created<TokenResponse>> CreateStreamToken(Guid areaId, HttpContext http, StreamDbContext db,
        TimeProvider clock, IOptions<StreamOptions> options, CancellationToken cancellationToken)
    {
        var channel = await db.Channels.AsNoTracking().FirstOrDefaultAsync(c => c.AreaId == areaId, cancellationToken) ?? throw NoChannel();

        var (token, secret) = NewToken(channel.Id, clock.GetUtcNow());
        db.AccessTokens.Add(token);
        await SaveOneEnabledAsync(db, cancellationToken);
        return TypedResults.Created($"/api/areas/{areaId}/stream-channel/tokens/{token.Id}", ToResponse(token, secret, SubscribeUrl(http, options.Value, channel, secret)));
    }

    public static Task<Ok<TokenResponse>> EnableStreamToken(Guid areaId, Guid tokenId, StreamDbContext db, TimeProvider clock,
        CancellationToken cancellationToken) => SetTokenAsync(areaId, tokenId, true, db, clock, cancellationToken);

    public static Task<Ok<TokenResponse>> DisableStreamToken(Guid areaId, Guid tokenId, StreamDbContext db, TimeProvider clock,
        CancellationToken cancellationToken) => SetTokenAsync(areaId, tokenId, false, db, clock, cancellationToken);

    private static async Task<Ok<TokenResponse>> SetTokenAsync(Guid areaId, Guid tokenId, bool enabled, StreamDbContext db,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var token = await db.AccessTokens.Join(db.Channels.Where(c => c.AreaId == areaId), t => t.ChannelId, c => c.Id, (t, c) => t)
            .FirstOrDefaultAsync(t => t.Id == tokenId, cancellationToken)
            ?? throw ProblemException.NotFound("Token not found.", "This area's channel has no token with this id.");

        if (token.Enabled != enabled)
        {
            token.Enabled = enabled;
            token.UpdatedAt = clock.GetUtcNow();
            if (!enabled)
            {
                db.AddOutboxMessage(new StreamAccessRevoked { AreaId = areaId, ChannelId = token.ChannelId, TokenId = token.Id, Reason = "The access token was disabled." }, clock);
            }

            await SaveOneEnabledAsync(db, cancellationToken);
        }

        return TypedResults.Ok(ToResponse(token));
    }

    private static async Task SaveOneEnabledAsync(StreamDbContext db, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            throw ProblemException.Conflict("The channel already has an enabled token, and a channel has at most one. Disable the current token first, then make or enable another.");
        }
    }

    private static (AccessToken Token, string Secret) NewToken(Guid channelId, DateTimeOffset now)
    {
        var secret = OpaqueToken.NewSecret();
        return (new AccessToken { Id = Guid.NewGuid(), ChannelId = channelId, SecretHash = SubscriptionGate.Hash(secret), Enabled = true, CreatedAt = now, UpdatedAt = now }, secret);
    }

    private static string SubscribeUrl(HttpContext http, StreamOptions options, Channel channel, string secret)
    {
        var origin = options.PublicBaseUrl?.TrimEnd('/')
            ?? $"{(http.Request.IsHttps ? "wss" : "ws")}://{http.Request.Host}";
        return $"{origin}/ecls/subscribe/{channel.AreaId}/{channel.Id}?key={secret}";
    }

    private static ProblemException ChannelExists(Guid id) =>
        ProblemException.Conflict($"This area already has its channel ({id}); an area has exactly one. Use GET to see it, or PATCH to change it.");

    private static ProblemException NoChannel() =>
        ProblemException.NotFound("The area has no channel yet.", "Create it with POST /api/areas/{areaId}/stream-channel (the Generate step).");

    private static ChannelResponse ToResponse(Channel c, IReadOnlyList<TokenResponse> tokens) =>
        new(c.Id, c.AreaId, c.Name, c.Description, c.Enabled ? "enabled" : "disabled", c.MaskSensitiveData, c.UnmaskedCharacters, c.CreatedAt, c.UpdatedAt, tokens);

    private static TokenResponse ToResponse(AccessToken t, string? secret = null, string? url = null) =>
        new(t.Id, t.Enabled ? "enabled" : "disabled", t.CreatedAt, t.UpdatedAt, secret, url);
}
