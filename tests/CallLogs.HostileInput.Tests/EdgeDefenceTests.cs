using System.IdentityModel.Tokens.Jwt;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CallLogs.HostileInput.Tests;

/// <summary>Rate limits, intake concurrency and identity checks every service shares (ServiceDefaults), seen through ingest.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class EdgeDefenceTests(Infrastructure infra)
{
    [Fact]
    public async Task A_caller_over_its_rate_gets_429_with_retry_after_as_a_problem_and_other_callers_are_not_affected()
    {
        await using var service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?>
        {
            ["RateLimiting:PermitsPerSecond"] = "1",
            ["RateLimiting:Burst"] = "3",
        });
        var area = Guid.NewGuid();
        using var greedy = service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, area, "greedy"));
        using var other = service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, area, "other"));

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add(await greedy.GetAsync($"/api/areas/{area}/call-records/retention"));
        }

        var limited = answers.First(a => a.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync($"/api/areas/{area}/call-records/retention")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await greedy.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Intake_beyond_its_concurrency_is_refused_with_429_instead_of_holding_more_connections()
    {
        await using var service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?>
        {
            ["RateLimiting:Classes:ingest:Concurrency"] = "1",
            ["RateLimiting:Classes:ingest:QueueLimit"] = "0",
        }, kestrel: true);
        var area = Guid.NewGuid();
        using var gateway = service.CreateClient(infra.Tokens.Issue(Roles.Ingest, area, "gateway"));
        // A gateway that sent its headers and starts a large batch, then sends it a little at a time: its request holds
        // the one place. Should another request have taken the place first, the slow one is answered 429 at once; it
        // then tries again, until it holds the place.
        var path = $"/api/areas/{area}/call-records";
        var token = infra.Tokens.Issue(Roles.Ingest, area, "gateway");
        var slow = await SlowGateway.StartAsync(service.BaseAddress, path, token);
        try
        {
            var second = await Eventually.Get(async () =>
                {
                    if (slow.Answered)
                    {
                        await slow.DisposeAsync();
                        slow = await SlowGateway.StartAsync(service.BaseAddress, path, token);
                    }

                    return await gateway.PostAsync(path, new StringContent("[]", System.Text.Encoding.UTF8, "application/json"));
                },
                r => r.StatusCode == HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(60), "the slow request holds the one place");
            Assert.NotNull(second.Headers.RetryAfter);
            Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
            Assert.False(slow.Answered);
        }
        finally
        {
            await slow.DisposeAsync();
        }

        await Eventually.Get(
            () => gateway.PostAsync(path, new StringContent("[]", System.Text.Encoding.UTF8, "application/json")),
            r => r.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the place frees once the slow request ends");
    }

    [Fact]
    public async Task Tokens_signed_otherwise_than_expected_are_refused_and_access_token_in_a_query_is_ignored_on_api_routes()
    {
        // A key long enough for every HMAC, so only the algorithm differs.
        var longKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(64));
        await using var service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?> { ["Auth:SigningKey"] = longKey });
        var area = Guid.NewGuid();
        var url = $"/api/areas/{area}/call-records/retention";
        using var anonymous = service.CreateClient();

        var good = new TokenIssuer(longKey).Issue(Roles.AreaViewer, area, "viewer");
        Assert.Equal(HttpStatusCode.OK, (await Send(anonymous, url, good)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"{url}?access_token={good}")).StatusCode);

        var key = new SymmetricSecurityKey(Convert.FromBase64String(longKey));
        foreach (var algorithm in new[] { SecurityAlgorithms.HmacSha512, SecurityAlgorithms.HmacSha384 })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Send(anonymous, url, Sign(area, new SigningCredentials(key, algorithm)))).StatusCode);
        }

        var unsigned = new JwtSecurityTokenHandler().WriteToken(new JwtSecurityToken(TokenIssuer.LocalIssuer, TokenIssuer.Audience,
            [new Claim(CallLogsClaims.Role, Roles.AreaViewer), new Claim(CallLogsClaims.Area, area.ToString()), new Claim(CallLogsClaims.Subject, "x")],
            DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddHours(1)));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(anonymous, url, unsigned)).StatusCode);
    }

    [Fact]
    public async Task An_http_authority_stops_a_service_at_start_outside_development()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?>
        {
            ["Auth:Authority"] = "http://issuer.invalid/",
            ["Auth:SigningKey"] = null,
        }));
        Assert.Contains("https://", error.ToString());
    }

    /// <summary>
    /// A raw HTTP/1.1 POST that announces a large body and sends whitespace slowly (above Kestrel's minimum body rate,
    /// so the server does not end it), noting whether the server answered it.
    /// </summary>
    private sealed class SlowGateway : IAsyncDisposable
    {
        private readonly System.Net.Sockets.TcpClient _client = new();
        private readonly CancellationTokenSource _stop = new();
        private Task _trickle = Task.CompletedTask, _listen = Task.CompletedTask;
        private volatile bool _answered;

        public bool Answered => _answered;

        public static async Task<SlowGateway> StartAsync(Uri server, string path, string token)
        {
            var slow = new SlowGateway();
            await slow._client.ConnectAsync(server.Host, server.Port);
            var stream = slow._client.GetStream();
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
                $"POST {path} HTTP/1.1\r\nHost: {server.Authority}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n["));
            var spaces = System.Text.Encoding.ASCII.GetBytes(new string(' ', 100));
            slow._trickle = Task.Run(async () =>
            {
                while (!slow._stop.IsCancellationRequested)
                {
                    await stream.WriteAsync(spaces, slow._stop.Token);
                    await Task.Delay(TimeSpan.FromMilliseconds(100), slow._stop.Token);
                }
            });
            slow._listen = Task.Run(async () =>
            {
                var buffer = new byte[1024];
                slow._answered = await stream.ReadAsync(buffer, slow._stop.Token) >= 0;
            });
            return slow;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _client.Close();
            await Task.WhenAll(_trickle, _listen).ContinueWith(_ => { }, TaskScheduler.Default); // ended by the close, one way or another
            _stop.Dispose();
        }
    }

    private static async Task<HttpResponseMessage> Send(HttpClient client, string url, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    private static string Sign(Guid area, SigningCredentials credentials) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = TokenIssuer.LocalIssuer,
        Audience = TokenIssuer.Audience,
        Subject = new ClaimsIdentity([new Claim(CallLogsClaims.Role, Roles.AreaViewer), new Claim(CallLogsClaims.Area, area.ToString()), new Claim(CallLogsClaims.Subject, "x")]),
        Expires = DateTime.UtcNow.AddHours(1),
        SigningCredentials = credentials,
    });
}
