using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Telephony.Data;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.Telephony.Tests;

/// <summary>Bad and hostile input to telephony: a 4xx problem naming the field and the fix, nothing half stored, never a 5xx.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class HostileInputTests(Infrastructure infra) : IAsyncLifetime
{
    private ServiceFactory<TelephonyDbContext> _service = null!;
    private readonly Guid _area = Guid.NewGuid();

    public async Task InitializeAsync() =>
        _service = await ServiceFactory<TelephonyDbContext>.StartAsync(infra, "telephony", new Dictionary<string, string?> { ["Telephony:RunScheduledJobs"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private HttpClient Client(string role) => _service.CreateClient(infra.Tokens.Issue(role, _area, "tester"));

    private string Url(string path) => $"/api/areas/{_area}/telephony/{path}";

    /// <summary>Asserts a 400 problem whose errors name <paramref name="field"/>.</summary>
    private static async Task BadRequest(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonNode.Parse(text)!["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(field), $"no error for '{field}' in {text}");
        Assert.All(errors, e => Assert.NotEmpty((string)e.Value![0]!));
    }

    private static JsonObject Row(long id, string type, string time, string linkedId = "9.1", string channel = "SIP/alice-01") => new()
    {
        ["id"] = id, ["eventtype"] = type, ["eventtime"] = time, ["channame"] = channel, ["uniqueid"] = linkedId, ["linkedid"] = linkedId,
        ["cid_name"] = "Alice", ["cid_num"] = "1001", ["exten"] = "1002", ["context"] = "default",
    };

    private static string Now(double seconds = 0) => DateTimeOffset.UtcNow.AddMinutes(-10).AddSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff");

    [Fact]
    public async Task A_CEL_batch_with_a_NUL_row_a_huge_value_or_an_absurd_date_refuses_those_rows_and_takes_the_rest()
    {
        var rows = new JsonArray
        {
            Row(1, "CHAN_START", Now(0)),
            Row(2, "CHAN_START", Now(1)).Also(r => r["cid_name"] = "Ali\u0000ce"),
            Row(3, "APP_START", Now(2)).Also(r => r["extra"] = new string('x', 20_000)),
            Row(4, "CHAN_END", "9999-01-01 00:00:00"),
            Row(5, "CHAN_END", "0001-01-01 00:00:00"),
            Row(6, "CHAN_END", Now(8)),
            Row(7, "LINKEDID_END", Now(9)),
            new JsonObject { ["id"] = -4, ["eventtype"] = "X", ["eventtime"] = Now(), ["uniqueid"] = "u", ["linkedid"] = "l" },
            "not an object",
        };
        using var response = await Client(Roles.Ingest).PostAsJsonAsync(Url("cel"), rows);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, (int)body["accepted"]!);
        var rejected = body["rejected"]!.AsArray().ToDictionary(r => (int)r!["index"]!, r => string.Join(" ", r!["errors"]!.AsArray().Select(e => (string)e!)));
        Assert.Equal([1, 2, 3, 4, 7, 8], rejected.Keys.Order());
        Assert.StartsWith("cid_name:", rejected[1]);
        Assert.StartsWith("extra:", rejected[2]);
        Assert.StartsWith("eventtime:", rejected[3]);
        Assert.StartsWith("eventtime:", rejected[4]);
        Assert.Contains("id:", rejected[7]);
        Assert.Equal(1, (int)body["generated"]!["created"]!);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("null")]
    [InlineData("[1")]
    [InlineData("")]
    [InlineData("[] []")]
    [InlineData("[{\"id\":1}] x")]
    [InlineData("[{\"id\":1,}]")]
    [InlineData("[{\"extra\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]")]
    public async Task A_CEL_body_that_is_not_an_array_of_rows_is_a_400_naming_the_body(string body)
    {
        using var response = await Client(Roles.Ingest).PostAsync(Url("cel"), new StringContent(body, Encoding.UTF8, "application/json"));
        await BadRequest(response, "body");
    }

    [Fact]
    public async Task A_CEL_body_sent_as_anything_but_json_is_a_415()
    {
        using var response = await Client(Roles.Ingest).PostAsync(Url("cel"), new StringContent("[]", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_CEL_row_whose_text_is_not_UTF_8_or_holds_an_unpaired_surrogate_is_refused_naming_the_column_and_the_rest_is_taken()
    {
        var good = Encoding.UTF8.GetBytes(Row(1, "CHAN_START", Now()).ToJsonString());
        var badBytes = Encoding.UTF8.GetBytes(Row(2, "CHAN_START", Now(1)).Also(r => r["cid_name"] = "BAD").ToJsonString());
        var at = badBytes.AsSpan().IndexOf("BAD"u8);
        badBytes[at] = 0xC3; // a lead byte followed by an ASCII byte: not UTF-8
        badBytes[at + 1] = 0x28;
        var surrogate = Row(3, "CHAN_START", Now(2)).ToJsonString().Replace("\"Alice\"", "\"\\ud800\"", StringComparison.Ordinal);
        var body = new MemoryStream();
        body.Write("["u8);
        body.Write(good);
        body.Write(","u8);
        body.Write(badBytes);
        body.Write(","u8);
        body.Write(Encoding.UTF8.GetBytes(surrogate));
        body.Write("]"u8);
        using var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await Client(Roles.Ingest).PostAsync(Url("cel?generate=false"), content);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (int)answer["accepted"]!);
        var rejected = answer["rejected"]!.AsArray().ToDictionary(r => (int)r!["index"]!, r => string.Join(" ", r!["errors"]!.AsArray().Select(e => (string)e!)));
        Assert.Equal([1, 2], rejected.Keys.Order());
        Assert.StartsWith("cid_name:", rejected[1]);
        Assert.StartsWith("cid_name:", rejected[2]);
    }

    [Theory]
    [InlineData("{\"days\":2147483647}", "days")]
    [InlineData("{\"days\":0}", "days")]
    [InlineData("{\"celCount\":-1}", "celCount")]
    [InlineData("{\"celCount\":2147483647}", "celCount")]
    [InlineData("{\"celCount\":5,\"days\":5}", "celCount")]
    public async Task A_generation_out_of_range_is_a_400_and_leaves_no_operation_behind(string body, string field)
    {
        using var response = await Client(Roles.AreaAdmin).PostAsync(Url("call-logs/generate"), new StringContent(body, Encoding.UTF8, "application/json"));
        await BadRequest(response, field);
        Assert.Empty((await Client(Roles.AreaAdmin).GetFromJsonAsync<JsonArray>(Url("operations")))!);
    }

    [Theory]
    [InlineData("days=2147483647")]
    [InlineData("days=-1")]
    [InlineData("days=99999999999")]
    [InlineData("")]
    [InlineData("days=3&all=true")]
    public async Task A_deletion_out_of_range_is_a_400_and_leaves_no_operation_behind(string query)
    {
        using var response = await Client(Roles.AreaAdmin).DeleteAsync(Url($"call-logs?{query}"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty((await Client(Roles.AreaAdmin).GetFromJsonAsync<JsonArray>(Url("operations")))!);
    }

    [Theory]
    [InlineData("search=%00", "search")]
    [InlineData("tags=a%00b", "tags")]
    [InlineData("requested_internal_context=%00", "requested_internal_context")]
    [InlineData("limit=2147483647", "limit")]
    [InlineData("limit=-1", "limit")]
    [InlineData("offset=-1", "offset")]
    [InlineData("from=0001-01-01T00:00:00Z", "from")]
    [InlineData("until=9999-12-31T23:59:59Z", "until")]
    [InlineData("user_uuid=x", "user_uuid")]
    [InlineData("number=12a", "number")]
    [InlineData("conversation_id=1.2;drop", "conversation_id")]
    [InlineData("format=xml", "format")]
    public async Task A_call_log_query_out_of_range_is_a_400_naming_the_parameter(string query, string field)
    {
        using var response = await Client(Roles.AreaViewer).GetAsync(Url($"call-logs?{query}"));
        await BadRequest(response, field);
    }

    [Fact]
    public async Task A_negative_call_log_id_is_a_400()
    {
        using var response = await Client(Roles.AreaViewer).GetAsync(Url("call-logs/-3"));
        await BadRequest(response, "id");
    }

    [Theory]
    [InlineData("{\"name\":\"A\\u0000\"}", "name")]
    [InlineData("{\"userfield\":\"sales\\u0000\"}", "userfield")]
    [InlineData("{\"lines\":[null]}", "lines[0]")]
    [InlineData("{\"lines\":[{\"id\":-1,\"name\":\"abc\"}]}", "lines[0].id")]
    [InlineData("{\"lines\":[{\"id\":1,\"name\":\"a\\u0000\"}]}", "lines[0].name")]
    [InlineData("{\"lines\":[{\"id\":1,\"name\":\"abc\",\"extensions\":[null]}]}", "lines[0].extensions[0]")]
    [InlineData("{\"lines\":[{\"id\":1,\"name\":\"abc\",\"extensions\":[{\"exten\":null,\"context\":\"default\"}]}]}", "lines[0].extensions[0]")]
    [InlineData("null", "body")]
    public async Task A_user_with_NUL_null_or_negative_values_is_a_400(string body, string field)
    {
        using var response = await Client(Roles.AreaAdmin).PutAsync(Url($"users/{Guid.NewGuid()}"), new StringContent(body, Encoding.UTF8, "application/json"));
        await BadRequest(response, field);
        await using var scope = _service.Services.CreateAsyncScope();
        Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<TelephonyDbContext>().Users.CountAsync(u => u.AreaId == _area));
    }

    [Theory]
    [InlineData("-5", "{\"name\":\"Bob\",\"number\":\"1002\",\"context\":\"default\"}", "id")]
    [InlineData("0", "{\"name\":\"Bob\",\"number\":\"1002\",\"context\":\"default\"}", "id")]
    [InlineData("99999999999", "{\"name\":\"Bob\",\"number\":\"1002\",\"context\":\"default\"}", "id")]
    [InlineData("5", "{\"name\":\"B\\u0000\",\"number\":\"1002\",\"context\":\"default\"}", "name")]
    [InlineData("5", "{\"name\":null,\"number\":\"1002\",\"context\":\"default\"}", "name")]
    [InlineData("5", "{\"name\":\"Bob\",\"number\":\"1002\"}", "context")]
    [InlineData("5", "null", "body")]
    public async Task A_voicemail_with_NUL_null_or_a_negative_id_is_a_400(string id, string body, string field)
    {
        using var response = await Client(Roles.AreaAdmin).PutAsync(Url($"voicemails/{id}"), new StringContent(body, Encoding.UTF8, "application/json"));
        await BadRequest(response, field);
    }

    [Theory]
    [InlineData("{\"days\":0}")]
    [InlineData("{\"days\":null}")]
    [InlineData("{\"days\":2147483647}")]
    public async Task A_retention_out_of_range_is_a_400(string body)
    {
        using var response = await Client(Roles.AreaAdmin).PutAsync(Url("retention"), new StringContent(body, Encoding.UTF8, "application/json"));
        await BadRequest(response, "days");
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}
