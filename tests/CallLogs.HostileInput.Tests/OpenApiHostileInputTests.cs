using System.Text;
using CallLogs.Audit;
using CallLogs.Export.Data;
using CallLogs.Ingest.Data;
using CallLogs.Profile.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Stream.Data;
using CallLogs.Telephony.Data;
using CallLogs.Testing;
using Microsoft.OpenApi;
using Xunit.Abstractions;

namespace CallLogs.HostileInput.Tests;

/// <summary>
/// Every operation of every service, as its own OpenAPI document describes it (read with Microsoft.OpenApi), gets
/// hostile values in every path, query and header parameter and in its body: NUL and other control characters, huge
/// strings, deep nesting, wrong types, out-of-range numbers, <c>..</c>, crafted tokens; with no token, another area's
/// token and a platform admin's. Whatever the request, the answer is never a 5xx, and a 4xx is an RFC 9457 problem.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class OpenApiHostileInputTests(Infrastructure infra, ITestOutputHelper output)
{
    private static readonly string[] HostileText =
    [
        "a\0b", "\0", "%00", "\u0001\u001f", "\ud800", "..", "../../etc/passwd", "%2e%2e%2f", new string('x', 5000), "-1", "0",
        "99999999999999999999", "-9223372036854775809", "1e400", "NaN", "true", "null", "[]", "{}", "' OR 1=1 --", "<script>",
        "2026-13-45T99:99:99Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        Convert.ToBase64String(Encoding.UTF8.GetBytes("9000000000000000000|x")), "00000000-0000-0000-0000-000000000000",
    ];

    private static readonly string[] HostileBodies =
    [
        "", "null", "[]", "\"x\"", "42", "{", "not json", "{\"a\":\"\\u0000\"}",
        new string('[', 5000) + new string(']', 5000),
        "{\"x\":" + new string('[', 100) + new string(']', 100) + "}",
        "[" + string.Join(",", Enumerable.Repeat("{\"request_uuid\":\"\\u0000\",\"request_time\":\"0001-01-01T00:00:00Z\",\"bytes\":-1}", 50)) + "]",
    ];

    private sealed record Target(string Service, HttpClient Admin, HttpClient Anonymous, HttpClient Stranger, IAsyncDisposable Factory);

    [Fact]
    public async Task Every_operation_of_every_service_answers_hostile_input_with_a_2xx_or_a_4xx_problem_and_never_a_5xx()
    {
        var settings = new Dictionary<string, string?> { ["RateLimiting:Enabled"] = "false", ["Audit:Bucket"] = await infra.NewBucketAsync() };
        var targets = new List<Target>
        {
            await StartAsync<ProfileDbContext>("profile", settings),
            await StartAsync<IngestDbContext>("ingest", settings),
            await StartAsync<ExportDbContext>("export", settings),
            await StartAsync<StreamDbContext>("stream", settings),
            await StartAsync<AuditServiceMarker>("audit", settings),
            await StartAsync<TelephonyDbContext>("telephony", settings),
        };

        var operations = 0;
        var requests = 0;
        var failures = new List<string>();
        try
        {
            foreach (var target in targets)
            {
                var json = await target.Admin.GetStringAsync("/openapi/v1.json");
                var (document, _) = OpenApiDocument.Parse(json, "json");
                Assert.NotNull(document);
                foreach (var (path, item) in document!.Paths)
                {
                    foreach (var (method, operation) in item.Operations ?? [])
                    {
                        operations++;
                        foreach (var request in Requests(path, method, operation))
                        {
                            foreach (var client in new[] { target.Admin, target.Anonymous, target.Stranger })
                            {
                                requests++;
                                if (await CheckAsync(client, request) is { } failure)
                                {
                                    failures.Add($"{target.Service} {failure}");
                                }
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            foreach (var target in targets)
            {
                await target.Factory.DisposeAsync();
            }
        }

        output.WriteLine($"{targets.Count} services, {operations} operations, {requests} hostile requests, {failures.Count} failures");
        foreach (var failure in failures)
        {
            output.WriteLine(failure);
        }

        Assert.True(operations >= 30, $"only {operations} operations found");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(50)));
    }

    private async Task<Target> StartAsync<T>(string name, IDictionary<string, string?> settings) where T : class
    {
        // A real server (Kestrel): hostile bytes go over HTTP as a client sends them, not through the in-memory test server.
        var factory = await ServiceFactory<T>.StartAsync(infra, name, new Dictionary<string, string?>(settings), kestrel: true);
        return new Target(name, factory.CreateClient(infra.Tokens.Issue(Roles.PlatformAdmin, null, "admin")), factory.CreateClient(),
            factory.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, Guid.NewGuid(), "stranger")), factory);
    }

    private sealed record HostileRequest(HttpMethod Method, string Url, string? Body, string What);

    /// <summary>Well-formed values for every parameter, then each parameter (and the body) in turn made hostile.</summary>
    private static IEnumerable<HostileRequest> Requests(string path, HttpMethod method, OpenApiOperation operation)
    {
        var parameters = operation.Parameters ?? [];
        var area = Guid.NewGuid().ToString();
        string Good(IOpenApiParameter p) => p.Name == "areaId" ? area : Plausible(p.Schema);
        string Url(IOpenApiParameter? hostile, string? value)
        {
            var url = path;
            var query = new List<string>();
            foreach (var p in parameters)
            {
                var v = p == hostile ? value! : Good(p);
                if (p.In == ParameterLocation.Path)
                {
                    url = url.Replace("{" + p.Name + "}", Uri.EscapeDataString(v), StringComparison.Ordinal);
                }
                else if (p.In == ParameterLocation.Query && (p == hostile || p.Required))
                {
                    query.Add($"{p.Name}={Uri.EscapeDataString(v)}");
                }
            }

            return query.Count == 0 ? url : $"{url}?{string.Join('&', query)}";
        }

        var hasBody = operation.RequestBody is not null;
        yield return new HostileRequest(method, Url(null, null), hasBody ? "{}" : null, "plausible values");
        foreach (var parameter in parameters.Where(p => p.In is ParameterLocation.Path or ParameterLocation.Query))
        {
            foreach (var value in HostileText)
            {
                yield return new HostileRequest(method, Url(parameter, value), hasBody ? "{}" : null, $"{parameter.Name}={Show(value)}");
            }
        }

        if (!hasBody)
        {
            yield break;
        }

        foreach (var body in HostileBodies)
        {
            yield return new HostileRequest(method, Url(null, null), body, $"body {Show(body)}");
        }

        var properties = operation.RequestBody!.Content?.Values.FirstOrDefault()?.Schema?.Properties ?? new Dictionary<string, IOpenApiSchema>();
        foreach (var (name, _) in properties)
        {
            foreach (var value in new[] { "\"a\\u0000b\"", "\"\\u0007\"", "\"\\ud800\"", $"\"{new string('x', 100_000)}\"", "-1", "99999999999999999999999",
                "1e400", "true", "[]", "{}", "null", "\"..\"", "{\"a\":" + new string('[', 80) + new string(']', 80) + "}" })
            {
                yield return new HostileRequest(method, Url(null, null), $"{{\"{name}\":{value}}}", $"body.{name}={Show(value)}");
            }
        }
    }

    private static string Plausible(IOpenApiSchema? schema) => schema?.Format switch
    {
        "uuid" => Guid.NewGuid().ToString(),
        "date-time" => DateTimeOffset.UtcNow.ToString("O"),
        "int32" or "int64" => "1",
        _ => (schema?.Type ?? JsonSchemaType.String) switch
        {
            var t when t.HasFlag(JsonSchemaType.Integer) || t.HasFlag(JsonSchemaType.Number) => "1",
            var t when t.HasFlag(JsonSchemaType.Boolean) => "true",
            _ => "x",
        },
    };

    private static async Task<string?> CheckAsync(HttpClient client, HostileRequest request)
    {
        using var message = new HttpRequestMessage(request.Method, request.Url);
        if (request.Body is not null)
        {
            message.Content = new StringContent(request.Body, Encoding.UTF8, "application/json");
        }

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(message, cancel.Token);
        }
        catch (OperationCanceledException)
        {
            return $"{request.Method} {Show(request.Url)} [{request.What}]: no answer within 60 s";
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (status >= 500)
            {
                return $"{request.Method} {Show(request.Url)} [{request.What}]: {status} {Show(await response.Content.ReadAsStringAsync())}";
            }

            // Kestrel itself refuses a request target with a NUL (%00) in its path, with a bare 400 before any application
            // code runs: that refusal is the server's, and it is fine.
            var refusedByKestrel = status == 400 && request.Url.Split('?')[0].Contains("%00", StringComparison.Ordinal)
                && response.Content.Headers.ContentLength is null or 0;
            if (status >= 400 && !refusedByKestrel && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                return $"{request.Method} {Show(request.Url)} [{request.What}]: {status} without a problem ({response.Content.Headers.ContentType})";
            }

            return null;
        }
    }

    private static string Show(string text) => text.Length > 120 ? text[..120] + "…" : text.Replace("\0", "\\0");
}
