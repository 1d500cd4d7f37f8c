using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CallLogs.Ingest.Tests;

/// <summary>Batches and reads as a buggy gateway or an attacker sends them: never a 5xx, a bad record never costs the good ones.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class HostileBatchTests(Infrastructure infra) : IAsyncLifetime
{
    private ServiceFactory<IngestDbContext> _service = null!;
    private EventCollector _events = null!;
    private readonly Guid _area = Guid.NewGuid();
    private HttpClient _gateway = null!;

    public async Task InitializeAsync()
    {
        _service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest");
        _events = await EventCollector.StartAsync(_service.Configuration["ConnectionStrings:messaging"]!);
        _gateway = _service.CreateClient(infra.Tokens.Issue(Roles.Ingest, _area, "gateway"));
    }

    public async Task DisposeAsync()
    {
        await _events.DisposeAsync();
        await _service.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostRawAsync(string body)
    {
        using var response = await _gateway.PostAsync($"/api/areas/{_area}/call-records", new StringContent(body, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static string Good(string uuid) => JsonSerializer.Serialize(SampleRecords.Posted(uuid));

    [Theory]
    [InlineData("api_key")]
    [InlineData("request_uuid")]
    [InlineData("service_name")]
    [InlineData("user_agent")]
    [InlineData("oauth_access_token")]
    [InlineData("x_unknown")]
    public async Task A_nul_in_one_record_refuses_that_record_and_the_rest_of_the_batch_is_stored_and_published(string field)
    {
        var good = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid().ToString()).ToList();
        var bad = $$"""{"request_uuid":"bad-{{Guid.NewGuid()}}","request_time":"{{DateTimeOffset.UtcNow.AddMinutes(-1):O}}","{{field}}":"a\u0000b"}""";
        var (status, answer) = await PostRawAsync($"[{Good(good[0])},{bad},{Good(good[1])},{Good(good[2])}]");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(3, answer.GetProperty("accepted").GetInt32());
        var error = Assert.Single(answer.GetProperty("errors").EnumerateArray());
        Assert.Equal(1, error.GetProperty("index").GetInt32());
        Assert.Contains("NUL", error.GetProperty("reason").GetString());
        await Eventually.Until(() => _events.Received<CallRecordsIngested>().SelectMany(b => b.Records).Count(r => good.Contains(r.RequestUuid)) == 3);
        Assert.DoesNotContain(_events.Received<CallRecordsIngested>().SelectMany(b => b.Records), r => r.RequestUuid.StartsWith("bad-", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("\"request_time\":\"0001-01-01T00:00:00Z\"", "older than this area keeps")]
    [InlineData("\"request_time\":\"1970-01-01T00:00:00Z\"", "older than this area keeps")]
    [InlineData("\"request_time\":\"9999-12-31T23:59:59Z\"", "in the future")]
    [InlineData("\"bytes\":-1", "must not be negative")]
    [InlineData("\"connect_time\":-0.001", "must not be negative")]
    public async Task Out_of_range_times_and_negative_numbers_are_per_record_errors(string value, string reason)
    {
        var uuid = Guid.NewGuid().ToString();
        var time = value.StartsWith("\"request_time\"", StringComparison.Ordinal) ? "" : $"\"request_time\":\"{DateTimeOffset.UtcNow.AddMinutes(-1):O}\",";
        var (status, answer) = await PostRawAsync($$"""[{{Good(uuid)}},{"request_uuid":"r-{{Guid.NewGuid()}}",{{time}}{{value}}}]""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, answer.GetProperty("accepted").GetInt32());
        Assert.Contains(reason, answer.GetProperty("errors")[0].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task An_unknown_field_nested_61_levels_deep_is_a_per_record_error_and_never_a_retryable_503()
    {
        var uuid = Guid.NewGuid().ToString();
        var deep = new string('[', 60) + new string(']', 60);
        var (status, answer) = await PostRawAsync($$"""[{{Good(uuid)}},{"request_uuid":"d","request_time":"{{DateTimeOffset.UtcNow.AddMinutes(-1):O}}","x":{{deep}}}]""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, answer.GetProperty("accepted").GetInt32());
        Assert.Contains("nested more than", answer.GetProperty("errors")[0].GetProperty("reason").GetString());
        await Eventually.Until(() => _events.Received<CallRecordsIngested>().SelectMany(b => b.Records).Any(r => r.RequestUuid == uuid));
    }

    [Fact]
    public async Task A_batch_of_thousands_of_distinct_days_creates_no_partition_beyond_the_retention_window()
    {
        var now = DateTimeOffset.UtcNow;
        var batch = Enumerable.Range(0, 5000).Select(i => SampleRecords.Posted(time: now.AddDays(-i).AddMinutes(-1))).ToList();
        using var response = await _gateway.PostAsJsonAsync($"/api/areas/{_area}/call-records", batch);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(30, answer.GetProperty("accepted").GetInt32());
        Assert.Equal(4970, answer.GetProperty("refused").GetInt32());
        var dataSource = _service.Services.GetRequiredService<NpgsqlDataSource>();
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'call_records'");
        Assert.InRange((long)(await count.ExecuteScalarAsync())!, 1, 30 + 3);
    }

    [Fact]
    public async Task One_areas_long_retention_never_turns_another_areas_expiry_into_row_deletes()
    {
        var keeper = Guid.NewGuid();
        using var keeperAdmin = _service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, keeper, "admin"));
        Assert.Equal(HttpStatusCode.OK, (await keeperAdmin.PutAsJsonAsync($"/api/areas/{keeper}/call-records/retention", new { days = 700 })).StatusCode);
        using var keeperGateway = _service.CreateClient(infra.Tokens.Issue(Roles.Ingest, keeper, "gateway"));
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(HttpStatusCode.OK, (await keeperGateway.PostAsJsonAsync($"/api/areas/{keeper}/call-records", new[] { SampleRecords.Posted(time: now.AddDays(-20)) })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _gateway.PostAsJsonAsync($"/api/areas/{_area}/call-records", new[] { SampleRecords.Posted(time: now.AddDays(-20)) })).StatusCode);

        var store = _service.Services.GetRequiredService<CallRecordStore>();
        await _service.Services.GetRequiredService<RetentionJob>().RunOnceAsync(CancellationToken.None);
        // Eleven days on, the default area's record (30 days) has expired: its partition is dropped whole, no row is deleted.
        var (dropped, deleted) = await store.ExpireAsync(now.AddDays(11), 30, new Dictionary<Guid, int> { [keeper] = 700 }, [], CancellationToken.None);

        Assert.True(dropped >= 1);
        Assert.Equal(0, deleted);
        var dataSource = _service.Services.GetRequiredService<NpgsqlDataSource>();
        await using var left = dataSource.CreateCommand("SELECT area_id FROM call_records");
        await using var reader = await left.ExecuteReaderAsync();
        var areas = new List<Guid>();
        while (await reader.ReadAsync())
        {
            areas.Add(reader.GetGuid(0));
        }

        Assert.Equal([keeper], areas);
    }

    [Fact]
    public async Task Reads_refuse_crafted_tokens_nul_filters_and_unknown_formats_with_a_problem_naming_the_parameter()
    {
        using var viewer = _service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, _area, "viewer"));
        var crafted = Convert.ToBase64String(Encoding.UTF8.GetBytes("9000000000000000000|x"));
        foreach (var (query, parameter) in new[]
        {
            ($"continuationToken={Uri.EscapeDataString(crafted)}", "continuationToken"),
            ("continuationToken=%FF%FE", "continuationToken"),
            ("apiKey=a%00b", "apiKey"),
            ("service=%00", "service"),
            ("srcIp=1%01", "srcIp"),
            ("format=xml", "format"),
            ("limit=0", "limit"),
            ("limit=2147483648", "limit"),
            ("responseCode=-5", "responseCode"),
            ("until=0001-01-01T00:00:00Z", "from"),
        })
        {
            using var response = await viewer.GetAsync($"/api/areas/{_area}/call-records?{query}");
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{query}: {response.StatusCode} {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(parameter, text);
        }
    }

    [Fact]
    public async Task Viewers_get_api_keys_and_tokens_masked_by_the_export_rule_and_area_admins_raw()
    {
        var record = SampleRecords.Posted(apiKey: "0123456789abcdef");
        record["oauth_access_token"] = "tok-0123456789";
        Assert.Equal(HttpStatusCode.OK, (await _gateway.PostAsJsonAsync($"/api/areas/{_area}/call-records", new[] { record })).StatusCode);
        using var viewer = _service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, _area, "viewer"));
        using var admin = _service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, _area, "admin"));

        var seen = (await viewer.GetFromJsonAsync<JsonElement>($"/api/areas/{_area}/call-records")).GetProperty("items")[0];
        Assert.Equal(Masking.Mask("0123456789abcdef", 4), seen.GetProperty("api_key").GetString());
        Assert.Equal("0123********cdef", seen.GetProperty("api_key").GetString());
        Assert.Equal(Masking.Mask("tok-0123456789", 4), seen.GetProperty("oauth_access_token").GetString());
        Assert.Equal("kept", seen.GetProperty("x_gateway_extra").GetString());
        var csv = await viewer.GetStringAsync($"/api/areas/{_area}/call-records?format=csv");
        Assert.DoesNotContain("0123456789abcdef", csv);
        Assert.Contains("0123********cdef", csv);

        var raw = (await admin.GetFromJsonAsync<JsonElement>($"/api/areas/{_area}/call-records")).GetProperty("items")[0];
        Assert.Equal("0123456789abcdef", raw.GetProperty("api_key").GetString());
    }

    [Fact]
    public async Task A_body_that_declares_a_huge_length_and_trickles_holds_no_buffer_of_that_length()
    {
        // A real server and a raw connection: the headers declare 60 MB, a first record arrives, then nothing.
        await using var service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", kestrel: true);
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(service.BaseAddress.Host, service.BaseAddress.Port);
        var head = $"POST /api/areas/{_area}/call-records HTTP/1.1\r\nHost: {service.BaseAddress.Authority}\r\nAuthorization: Bearer {infra.Tokens.Issue(Roles.Ingest, _area, "gateway")}\r\nContent-Type: application/json\r\nContent-Length: {60 * 1024 * 1024}\r\n\r\n[{Good(Guid.NewGuid().ToString())}";
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(head));
        // A buffer of the declared length would show as tens of megabytes allocated within moments; none comes.
        await Assert.ThrowsAsync<TimeoutException>(() => Eventually.Until(
            () => GC.GetTotalAllocatedBytes(precise: true) - before > 16L * 1024 * 1024, TimeSpan.FromSeconds(3)));
        client.Close();
    }
}
