using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;

namespace CallLogs.Ingest.Tests;

/// <summary>A record's API key and OAuth token are never in clear in ingest's database or on the bus; its readers get them back.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class SecretsAtRestTests(Infrastructure infra) : IAsyncLifetime
{
    private const string Key = "k3y-7f2c9a0e5b1d4c8a";
    private const string Token = "tok-Zm9vYmFyYmF6cXV4";
    private ServiceFactory<IngestDbContext> _service = null!;
    private EventCollector _events = null!;
    private readonly Guid _area = Guid.NewGuid();

    public async Task InitializeAsync()
    {
        _service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest");
        _events = await EventCollector.StartAsync(_service.Configuration["ConnectionStrings:messaging"]!);
    }

    public async Task DisposeAsync()
    {
        await _events.DisposeAsync();
        await _service.DisposeAsync();
    }

    private static Dictionary<string, object?> Carrying(string uuid)
    {
        var record = SampleRecords.Posted(uuid, apiKey: Key);
        record["oauth_access_token"] = Token;
        record["request_id"] = $"1555711003.068__{Key}";
        record["uri"] = $"/v1/forecast?api_key={Key}&city=Oslo";
        record["x_callback"] = new Dictionary<string, object> { ["headers"] = new[] { $"Authorization: Bearer {Token}" }, ["retries"] = 3 };
        return record;
    }

    [Fact]
    public async Task Neither_the_database_nor_the_bus_holds_the_key_or_the_token_in_clear_wherever_the_gateway_put_them()
    {
        var uuid = Guid.NewGuid().ToString();
        using var gateway = _service.CreateClient(infra.Tokens.Issue(Roles.Ingest, _area, "gateway"));
        Assert.Equal(HttpStatusCode.OK, (await gateway.PostAsJsonAsync($"/api/areas/{_area}/call-records", new[] { Carrying(uuid) })).StatusCode);

        var published = JsonSerializer.Serialize(await _events.WaitFor<CallRecordsIngested>(m => m.AreaId == _area));
        Assert.Contains(uuid, published);
        Assert.DoesNotContain(Key, published);
        Assert.DoesNotContain(Token, published);

        var database = _service.Configuration["ConnectionStrings:ingestdb"]!;
        Assert.NotEmpty(await Sql.TablesHoldingAsync(database, uuid));   // the search finds what is stored in clear
        Assert.Empty(await Sql.TablesHoldingAsync(database, Key));
        Assert.Empty(await Sql.TablesHoldingAsync(database, Token));
    }

    [Fact]
    public async Task Area_admins_read_the_record_as_sent_viewers_masked_wherever_the_key_appears_and_the_key_filter_finds_it()
    {
        var uuid = Guid.NewGuid().ToString();
        using var gateway = _service.CreateClient(infra.Tokens.Issue(Roles.Ingest, _area, "gateway"));
        Assert.Equal(HttpStatusCode.OK, (await gateway.PostAsJsonAsync($"/api/areas/{_area}/call-records",
            new[] { Carrying(uuid), SampleRecords.Posted(apiKey: "another-key-0000") })).StatusCode);
        using var admin = _service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, _area, "admin"));
        using var viewer = _service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, _area, "viewer"));

        var found = (await admin.GetFromJsonAsync<JsonElement>($"/api/areas/{_area}/call-records?apiKey={Key}")).GetProperty("items");
        var item = Assert.Single(found.EnumerateArray());
        Assert.Equal(uuid, item.GetProperty("request_uuid").GetString());
        Assert.Equal(Key, item.GetProperty("api_key").GetString());
        Assert.Equal(Token, item.GetProperty("oauth_access_token").GetString());
        Assert.Equal($"1555711003.068__{Key}", item.GetProperty("request_id").GetString());
        Assert.Equal($"/v1/forecast?api_key={Key}&city=Oslo", item.GetProperty("uri").GetString());
        Assert.Equal($"Authorization: Bearer {Token}", item.GetProperty("x_callback").GetProperty("headers")[0].GetString());
        Assert.Equal(3, item.GetProperty("x_callback").GetProperty("retries").GetInt32());
        var adminCsv = await admin.GetStringAsync($"/api/areas/{_area}/call-records?format=csv&apiKey={Key}");
        Assert.Contains($"/v1/forecast?api_key={Key}&city=Oslo", adminCsv);

        var seen = (await viewer.GetFromJsonAsync<JsonElement>($"/api/areas/{_area}/call-records?apiKey={Key}")).GetProperty("items")[0];
        var text = seen.GetRawText();
        Assert.DoesNotContain(Key, text);
        Assert.DoesNotContain(Token, text);
        Assert.Equal(Masking.Mask(Key, 4), seen.GetProperty("api_key").GetString());
        Assert.Equal($"/v1/forecast?api_key={Masking.Mask(Key, 4)}&city=Oslo", seen.GetProperty("uri").GetString());
        var viewerCsv = await viewer.GetStringAsync($"/api/areas/{_area}/call-records?format=csv");
        Assert.DoesNotContain(Key, viewerCsv);
        Assert.DoesNotContain(Token, viewerCsv);
        Assert.Contains(Masking.Mask(Key, 4)!, viewerCsv);
    }
}
