using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace CallLogs.EndToEnd.Tests;

/// <summary>The AppHost's model in both infrastructure modes, built but not started (no container engine needed).</summary>
public sealed class AppHostModelTests
{
    [Theory]
    [InlineData("executables")]
    [InlineData("containers")]
    public async Task Both_modes_declare_the_same_resources_and_connection_string_shapes(string mode)
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CallLogs_AppHost>([$"--Infrastructure:Mode={mode}"]);
        var resources = builder.Resources.ToDictionary(r => r.Name);

        string[] connected = ["messaging", "postgres", "storage", "profiledb", "ingestdb", "exportdb", "streamdb", "auditdb"];
        Assert.All(connected, name => Assert.IsAssignableFrom<IResourceWithConnectionString>(resources[name]));
        Assert.All(AspireSystem.Services, name => Assert.IsType<ProjectResource>(resources[name]));
        Assert.StartsWith("amqp://", Shape("messaging"));
        Assert.Matches("^Host=.*;Port=.*;Username=.*;Password=.*$", Shape("postgres"));
        Assert.EndsWith(";Database=exportdb", Shape("exportdb"));
        Assert.Matches("^Endpoint=.*;AccessKey=.*;SecretKey=.*;Region=us-east-1$", Shape("storage"));

        string Shape(string name) => ((IResourceWithConnectionString)resources[name]).ConnectionStringExpression.ValueExpression;
    }

    [Fact]
    public async Task Every_service_gets_its_connection_strings_and_the_others_addresses()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CallLogs_AppHost>(["--Infrastructure:Mode=executables"]);
        var export = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "export");
        var references = export.Annotations.OfType<ResourceRelationshipAnnotation>().Where(a => a.Type == "Reference").Select(a => a.Resource.Name).ToHashSet();

        Assert.Superset(new HashSet<string> { "messaging", "exportdb", "storage", "profile", "ingest", "stream", "audit" }, references);
    }
}
