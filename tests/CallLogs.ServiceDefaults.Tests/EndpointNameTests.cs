using CallLogs.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace CallLogs.ServiceDefaults.Tests;

/// <summary>The name of an endpoint is the audit event name of its calls, so a service whose API endpoint has none does not start.</summary>
public sealed class EndpointNameTests
{
    [Fact]
    public async Task A_service_with_an_unnamed_api_endpoint_refuses_to_start_and_names_the_endpoint()
    {
        await using var app = Build(endpoint => endpoint);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("/api/things", error.Message);
        Assert.Contains("WithName", error.Message);
    }

    [Fact]
    public async Task A_service_whose_api_endpoints_are_named_starts()
    {
        await using var app = Build(endpoint => endpoint.WithName("ListThings"));

        await app.StartAsync();

        using var response = await app.GetTestClient().GetAsync("/alive");
        Assert.True(response.IsSuccessStatusCode);
        await app.StopAsync();
    }

    private static WebApplication Build(Func<RouteHandlerBuilder, RouteHandlerBuilder> name)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Auth:SigningKey"] = TokenIssuer.NewSigningKey(),
            ["OTEL_SERVICE_NAME"] = "names",
        });
        builder.AddServiceDefaults();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        name(app.MapGet("/api/things", () => TypedResults.Ok()));
        return app;
    }
}
