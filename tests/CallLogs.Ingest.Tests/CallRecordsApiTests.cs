using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Ingest.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.Ingest.Tests;

[Collection(InfrastructureCollection.Name)]
public sealed class CallRecordsApiTests(Infrastructure infra) : IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private ServiceFactory<IngestDbContext> _service = null!;
    private EventCollector _events = null!;
    private readonly Guid _area = Guid.NewGuid();
    private HttpClient _gateway = null!;
    private HttpClient _viewer = null!;

    public async Task InitializeAsync()
    {
        _service = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest");
        _events = await EventCollector.StartAsync(_service.Configuration["ConnectionStrings:messaging"]!);
        _gateway = _service.CreateClient(infra.Tokens.Issue(Roles.Ingest, _area, "gateway"));
        _viewer = _service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, _area, "viewer"));
    }

    public async Task DisposeAsync()
    {
        await _events.DisposeAsync();
        await _service.DisposeAsync();
    }

    private async Task<JsonElement> PostAsync(object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await _gateway.PostAsJsonAsync($"/api/areas/{_area}/call-records", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<List<JsonElement>> StoredAsync(string query = "")
    {
        var all = new List<JsonElement>();
        string? token = null;
        do
        {
            var url = $"/api/areas/{_area}/call-records?from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(-60).ToString("O"))}&limit=1000{query}"
                + (token is null ? "" : $"&continuationToken={token}");
            var page = await _viewer.GetFromJsonAsync<JsonElement>(url);
            all.AddRange(page.GetProperty("items").EnumerateArray());
            token = page.GetProperty("continuationToken").GetString();
        }
        while (token is not null);
        return all;
    }

    [Fact]
    public async Task Bad_records_get_their_index_and_reason_and_the_good_ones_of_the_batch_arrive_and_are_stored()
    {
        var good = new[] { SampleRecords.Posted(), SampleRecords.Posted() };
        var answer = await PostAsync(new object[]
        {
            good[0],
            new Dictionary<string, object?> { ["request_time"] = DateTimeOffset.UtcNow.ToString("O") },
            good[1],
            SampleRecords.Posted(status: 700),
        });

        Assert.Equal(2, answer.GetProperty("accepted").GetInt32());
        Assert.Equal(2, answer.GetProperty("refused").GetInt32());
        var errors = answer.GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal([1, 3], errors.Select(e => e.GetProperty("index").GetInt32()));
        Assert.Contains("request_uuid is required", errors[0].GetProperty("reason").GetString());
        Assert.Contains("100 to 599", errors[1].GetProperty("reason").GetString());

        var uuids = good.Select(g => (string)g["request_uuid"]!).ToHashSet();
        await Eventually.Until(() => _events.Received<CallRecordsIngested>().SelectMany(b => b.Records).Count(r => uuids.Contains(r.RequestUuid)) == 2);
        var published = _events.Received<CallRecordsIngested>().SelectMany(b => b.Records).First(r => uuids.Contains(r.RequestUuid));
        Assert.True(published.IngestionTime > 0);
        Assert.Equal("kept", published.Extra!["x_gateway_extra"].GetString());

        var stored = await Eventually.Get(() => StoredAsync(), s => s.Count == 2);
        Assert.Equal(uuids, stored.Select(s => s.GetProperty("request_uuid").GetString()!).ToHashSet());
        Assert.Equal("kept", stored[0].GetProperty("x_gateway_extra").GetString());
    }

    [Fact]
    public async Task A_batch_of_only_bad_records_is_unprocessable_and_changes_nothing()
    {
        var answer = await PostAsync(new[] { new { request_uuid = "x" } }, HttpStatusCode.UnprocessableEntity);
        Assert.Equal(0, answer.GetProperty("accepted").GetInt32());
        Assert.Contains("request_time is required", answer.GetProperty("errors")[0].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_record_already_accepted_is_counted_as_a_duplicate_and_not_passed_on_again()
    {
        var record = SampleRecords.Posted();
        var uuid = (string)record["request_uuid"]!;
        Assert.Equal(1, (await PostAsync(new[] { record })).GetProperty("accepted").GetInt32());

        var again = await PostAsync(new[] { record, record, SampleRecords.Posted() });

        Assert.Equal(1, again.GetProperty("accepted").GetInt32());
        Assert.Equal(2, again.GetProperty("duplicates").GetInt32());
        await Eventually.Until(() => _events.Received<CallRecordsIngested>().Count >= 2);
        var marker = SampleRecords.Posted();
        await PostAsync(new[] { marker });
        await Eventually.Until(() => _events.Received<CallRecordsIngested>().SelectMany(b => b.Records).Any(r => r.RequestUuid == (string)marker["request_uuid"]!));
        Assert.Single(_events.Received<CallRecordsIngested>().SelectMany(b => b.Records), r => r.RequestUuid == uuid);
    }

    /// <summary>
    /// A batch's ids are reserved by one COPY; an id the batch names twice makes that COPY fail, and the batch is taken
    /// again by the path that recognises repeats.
    /// </summary>
    [Fact]
    public async Task A_new_id_named_twice_in_one_batch_is_accepted_once_and_stored_once()
    {
        var record = SampleRecords.Posted();
        var uuid = (string)record["request_uuid"]!;

        var answer = await PostAsync(new[] { record, SampleRecords.Posted(), record });

        Assert.Equal(2, answer.GetProperty("accepted").GetInt32());
        Assert.Equal(1, answer.GetProperty("duplicates").GetInt32());
        Assert.Single(await StoredAsync(), r => r.GetProperty("request_uuid").GetString() == uuid);
    }

    [Fact]
    public async Task Records_are_stored_when_the_answer_comes_and_a_row_whose_reservation_was_forgotten_is_not_stored_twice()
    {
        var kept = SampleRecords.Posted();
        var uuid = (string)kept["request_uuid"]!;
        await PostAsync(new[] { kept });
        Assert.Single(await StoredAsync(), r => r.GetProperty("request_uuid").GetString() == uuid);

        var dataSource = _service.Services.GetRequiredService<Npgsql.NpgsqlDataSource>();
        await using (var forget = dataSource.CreateCommand($"DELETE FROM accepted_requests WHERE request_uuid = '{uuid}'"))
        {
            Assert.Equal(1, await forget.ExecuteNonQueryAsync());
        }

        var other = SampleRecords.Posted();
        var again = await PostAsync(new[] { kept, other });

        Assert.Equal(2, again.GetProperty("accepted").GetInt32());
        var stored = await StoredAsync();
        Assert.Single(stored, r => r.GetProperty("request_uuid").GetString() == uuid);
        Assert.Single(stored, r => r.GetProperty("request_uuid").GetString() == (string)other["request_uuid"]!);
    }

    [Fact]
    public async Task Newline_delimited_json_is_taken_too_and_a_large_batch_goes_on_as_several_batch_messages()
    {
        var lines = string.Join("\n", Enumerable.Range(0, 2500).Select(_ => JsonSerializer.Serialize(SampleRecords.Posted()))) + "\nnot json\n";
        using var response = await _gateway.PostAsync($"/api/areas/{_area}/call-records", new StringContent(lines, Encoding.UTF8, "application/x-ndjson"));
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2500, answer.GetProperty("accepted").GetInt32());
        Assert.Equal(2500, answer.GetProperty("errors")[0].GetProperty("index").GetInt32());
        await Eventually.Until(() => _events.Received<CallRecordsIngested>().Sum(b => b.Records.Count) == 2500);
        Assert.Equal(3, _events.Received<CallRecordsIngested>().Count);
    }

    [Fact]
    public async Task Large_records_go_on_in_messages_of_at_most_two_megabytes_each_every_record_once()
    {
        // 150 records of about 56 KB each (the largest taken is 64 KB): 8.4 MB, more than four messages' worth.
        var records = Enumerable.Range(0, 150).Select(_ =>
        {
            var record = SampleRecords.Posted();
            for (var i = 0; i < 7; i++)
            {
                record[$"x_padding_{i}"] = new string('a', 8_000);
            }

            return record;
        }).ToList();

        Assert.Equal(150, (await PostAsync(records)).GetProperty("accepted").GetInt32());

        await Eventually.Until(() => _events.Received<CallRecordsIngested>().Sum(b => b.Records.Count) >= 150);
        var messages = _events.Received<CallRecordsIngested>();
        Assert.True(messages.Count >= 5, $"{messages.Count} messages");
        Assert.All(messages, m => Assert.InRange(m.Records.Sum(r => Encoding.UTF8.GetByteCount(CallRecordFields.ToFlatJson(r))), 1, 2 << 20));
        Assert.Equal(records.Select(r => (string)r["request_uuid"]!).Order(), messages.SelectMany(m => m.Records).Select(r => r.RequestUuid).Order());
    }

    [Fact]
    public async Task A_batch_over_the_size_limit_is_refused_whole()
    {
        await using var small = await ServiceFactory<IngestDbContext>.StartAsync(infra, "ingest", new Dictionary<string, string?> { ["Ingest:MaxBatchRecords"] = "10" });
        using var gateway = small.CreateClient(infra.Tokens.Issue(Roles.Ingest, _area, "gateway"));
        using var response = await gateway.PostAsJsonAsync($"/api/areas/{_area}/call-records", Enumerable.Range(0, 11).Select(_ => SampleRecords.Posted()));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("at most 10 records", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Paging_newest_first_returns_every_record_exactly_once_with_filters_and_csv()
    {
        var start = DateTimeOffset.UtcNow.AddDays(-3);
        var records = Enumerable.Range(0, 230)
            .Select(i => SampleRecords.Posted(time: start.AddMinutes(i / 3 * 17), status: i % 5 == 0 ? 500 : 200, apiKey: i % 2 == 0 ? "even" : "odd"))
            .ToList();
        await PostAsync(records);
        await Eventually.Until(async () => (await StoredAsync()).Count == 230, TimeSpan.FromSeconds(30));

        var seen = new List<string>();
        var times = new List<DateTimeOffset>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await _viewer.GetFromJsonAsync<JsonElement>(
                $"/api/areas/{_area}/call-records?from={Uri.EscapeDataString(start.AddMinutes(-1).ToString("O"))}&limit=17" + (token is null ? "" : $"&continuationToken={token}"));
            foreach (var item in page.GetProperty("items").EnumerateArray())
            {
                seen.Add(item.GetProperty("request_uuid").GetString()!);
                times.Add(item.GetProperty("request_time").GetDateTimeOffset());
            }

            token = page.GetProperty("continuationToken").GetString();
            pages++;
        }
        while (token is not null);

        Assert.Equal(14, pages);
        Assert.Equal(230, seen.Count);
        Assert.Equal(records.Select(r => (string)r["request_uuid"]!).Order(), seen.Order());
        Assert.Equal(times.OrderDescending(), times);

        var errors = await StoredAsync("&responseCode=500&apiKey=even");
        Assert.Equal(records.Count(r => (int)r["http_status_code"]! == 500 && (string)r["api_key"]! == "even"), errors.Count);

        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, $"/api/areas/{_area}/call-records?from={Uri.EscapeDataString(start.AddMinutes(-1).ToString("O"))}&limit=5");
        csvRequest.Headers.Accept.ParseAdd("text/csv");
        using var csv = await _viewer.SendAsync(csvRequest);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("request_uuid,request_id,request_time,api_key,", lines[0]);
        Assert.Equal(6, lines.Length);
        Assert.True(csv.Headers.Contains("X-Continuation-Token"));
    }

    [Fact]
    public async Task Another_areas_token_can_neither_post_nor_read_here()
    {
        using var stranger = _service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, Guid.NewGuid(), "stranger"));
        using var read = await stranger.GetAsync($"/api/areas/{_area}/call-records");
        using var post = await stranger.PostAsJsonAsync($"/api/areas/{_area}/call-records", new[] { SampleRecords.Posted() });
        using var viewerPost = await _viewer.PostAsJsonAsync($"/api/areas/{_area}/call-records", new[] { SampleRecords.Posted() });
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, viewerPost.StatusCode);
    }

    [Fact]
    public async Task Records_past_their_areas_retention_are_removed_and_whole_old_partitions_dropped()
    {
        var old = DateTimeOffset.UtcNow.AddDays(-40);
        var recent = DateTimeOffset.UtcNow.AddDays(-3);
        var fresh = DateTimeOffset.UtcNow.AddHours(-2);
        using var admin = _service.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, _area, "admin"));
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsJsonAsync($"/api/areas/{_area}/call-records/retention", new { days = 0 })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsJsonAsync($"/api/areas/{_area}/call-records/retention", new { days = 732 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/areas/{_area}/call-records/retention", new { days = 60 })).StatusCode);
        await PostAsync(new[] { SampleRecords.Posted(time: old), SampleRecords.Posted(time: recent), SampleRecords.Posted(time: fresh) });
        await Eventually.Until(async () => (await StoredAsync()).Count == 3);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/areas/{_area}/call-records/retention", new { days = 2 })).StatusCode);

        await _service.Services.GetRequiredService<RetentionJob>().RunOnceAsync(CancellationToken.None);

        var left = await StoredAsync();
        Assert.Equal([fresh.ToUnixTimeSeconds()], left.Select(r => r.GetProperty("request_time").GetDateTimeOffset().ToUnixTimeSeconds()));
    }
}
