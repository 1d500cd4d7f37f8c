using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Ingest.Domain;

namespace CallLogs.Ingest.Tests;

public sealed class CallRecordParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    /// <summary>An area that keeps records ten years (so the sample times of 2019 are in), five minutes of clock skew.</summary>
    private static readonly RecordLimits Limits = new(Now.AddYears(-10), Now.AddMinutes(5), 1234);

    private static (CallRecord? Record, string? Error) Parse(string json) => CallRecordParser.Parse(Encoding.UTF8.GetBytes(json), Limits);

    [Fact]
    public void A_full_record_is_read_with_its_types_and_stamped_with_the_ingestion_time()
    {
        var (record, error) = Parse("""
            {"request_uuid":"u-1","request_id":"1555711003.068__fav6x8vp8wwcyj65m7yv3bzt","request_time":"2019-04-19T21:56:43Z",
             "api_key":"fav6x8vp8wwcyj65m7yv3bzt","oauth_access_token":"-","http_status_code":200,"bytes":512,"cache_hit":false,
             "ssl_enabled":true,"connect_time":0.001,"total_request_exec_time":0.25,"service_name":"Weather","log_type":"call"}
            """);
        Assert.Null(error);
        Assert.Equal("u-1", record!.RequestUuid);
        Assert.Equal(new DateTimeOffset(2019, 4, 19, 21, 56, 43, TimeSpan.Zero), record.RequestTime);
        Assert.Equal(200, record.HttpStatusCode);
        Assert.Equal(512, record.Bytes);
        Assert.True(record.SslEnabled);
        Assert.Equal(0.25, record.TotalRequestExecTime);
        Assert.Equal(1234, record.IngestionTime);
        Assert.Equal("call", record.Extra!["log_type"].GetString());
    }

    [Theory]
    [InlineData("""{"request_time":"2019-04-19T21:56:43Z"}""", "request_uuid is required")]
    [InlineData("""{"request_uuid":"","request_time":"2019-04-19T21:56:43Z"}""", "request_uuid is required")]
    [InlineData("""{"request_uuid":"u"}""", "request_time is required")]
    [InlineData("""{"request_uuid":"u","request_time":"yesterday"}""", "not an ISO 8601")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19"}""", "not an ISO 8601")]
    [InlineData("""{"request_uuid":"u","request_time":"2026-11-23T12:06:00Z"}""", "in the future")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","http_status_code":99}""", "from 100 to 599")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","http_status_code":600}""", "from 100 to 599")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","http_status_code":"200"}""", "http_status_code must be a whole number")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","bytes":1.5}""", "bytes must be a whole number")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","connect_time":"fast"}""", "connect_time must be a number")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","cache_hit":"yes"}""", "cache_hit must be true or false")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","api_key":42}""", "api_key must be a string")]
    [InlineData("""[1,2]""", "must be a JSON object")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","api_key":"a\u0000"}""", "api_key contains a NUL character")]
    [InlineData("""{"request_uuid":"u\u0000","request_time":"2019-04-19T21:56:43Z"}""", "request_uuid contains a NUL character")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","service_name":"a\u0000b"}""", "service_name contains a NUL character")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","user_agent":"\u0000"}""", "user_agent contains a NUL character")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","oauth_access_token":"t\u0000"}""", "oauth_access_token contains a NUL character")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","uri":"/a\u0007"}""", "uri contains the control character U+0007")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","referrer":"\ud800x"}""", "unpaired")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","x_extra":{"deep":["\u0000"]}}""", "x_extra contains a NUL character")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","x\u0000":1}""", "name of an unknown field contains a NUL")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","x_extra":"\udc00"}""", "unpaired")]
    [InlineData("""{"request_uuid":"u","request_time":"0001-01-01T00:00:00Z"}""", "older than this area keeps")]
    [InlineData("""{"request_uuid":"u","request_time":"1970-01-01T00:00:00Z"}""", "older than this area keeps")]
    [InlineData("""{"request_uuid":"u","request_time":"9999-12-31T23:59:59Z"}""", "in the future")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","bytes":-1}""", "bytes must not be negative")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","connect_time":-0.5}""", "connect_time must not be negative")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","quota_value":-3}""", "quota_value must not be negative")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","http_status_code":99999999999}""", "from 100 to 599")]
    public void A_bad_record_is_refused_with_the_reason(string json, string reason) =>
        Assert.Contains(reason, Parse(json).Error);

    [Fact]
    public void Text_longer_than_the_limit_is_refused_with_the_field_and_the_limit()
    {
        var error = Parse($$"""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","uri":"{{new string('a', CallRecordParser.MaxTextLength + 1)}}"}""").Error;
        Assert.Contains($"uri is {CallRecordParser.MaxTextLength + 1} characters long; at most {CallRecordParser.MaxTextLength}", error);
        Assert.Null(Parse($$"""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","uri":"{{new string('a', CallRecordParser.MaxTextLength)}}"}""").Error);
    }

    [Theory]
    [InlineData(CallRecordParser.MaxDepth, true)]
    [InlineData(CallRecordParser.MaxDepth + 1, false)]
    [InlineData(61, false)]
    [InlineData(5000, false)]
    public void Unknown_fields_may_nest_up_to_the_depth_limit_and_deeper_ones_are_refused_with_the_reason(int depth, bool accepted)
    {
        // The record is level 1, so an unknown field's value nested (depth - 1) levels makes the record depth levels deep.
        var nested = new string('[', depth - 1) + new string(']', depth - 1);
        var (record, error) = Parse($$"""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","x_deep":{{nested}}}""");
        Assert.Equal(accepted, record is not null);
        if (!accepted)
        {
            Assert.Contains($"nested more than {CallRecordParser.MaxDepth} levels deep", error);
        }
    }

    [Fact]
    public void A_record_larger_than_the_limit_is_refused()
    {
        var error = Parse($$"""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","x":"{{new string('a', CallRecordParser.MaxRecordBytes)}}"}""").Error;
        Assert.Contains($"at most {CallRecordParser.MaxRecordBytes} are taken", error);
    }

    [Fact]
    public void Tab_and_line_breaks_are_fine_in_text_and_escaped_ordinary_characters_too()
    {
        var (record, error) = Parse("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","user_agent":"a\tb\r\nc \u00e9\/ \ud83d\ude00","x":"\u0001"}""");
        Assert.Null(error);
        Assert.Equal("a\tb\r\nc é/ 😀", record!.UserAgent);
    }

    [Fact]
    public void A_time_just_inside_the_allowed_skew_is_accepted() =>
        Assert.Null(Parse("""{"request_uuid":"u","request_time":"2026-11-23T12:04:59Z"}""").Error);

    [Fact]
    public void Unknown_fields_of_any_type_never_make_a_record_fail()
    {
        var (record, error) = Parse("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43+02:00","x_custom":{"a":[1,2]},"y":null}""");
        Assert.Null(error);
        Assert.Equal(new DateTimeOffset(2019, 4, 19, 19, 56, 43, TimeSpan.Zero), record!.RequestTime);
        Assert.True(record.Extra!.ContainsKey("x_custom"));
    }

    [Theory]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43"}""")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43.250Z"}""")]
    [InlineData("""{"request_uuid":"u","request_time":"2019-04-19T23:56:43+02:00"}""")]
    [InlineData("""{"request_uuid":"u","request_time":"\u0032019-04-19T21:56:43Z"}""")]
    public void Times_without_an_offset_are_utc_and_escaped_text_is_read_too(string json)
    {
        var (record, error) = Parse(json);
        Assert.Null(error);
        Assert.Equal(new DateTimeOffset(2019, 4, 19, 21, 56, 43, TimeSpan.Zero), record!.RequestTime.AddTicks(-(record.RequestTime.Ticks % TimeSpan.TicksPerSecond)));
        Assert.Equal(TimeSpan.Zero, record.RequestTime.Offset);
    }

    [Fact]
    public void Field_names_are_case_sensitive_so_a_differently_written_name_is_an_unknown_field()
    {
        var (record, error) = Parse("""{"request_uuid":"u","request_time":"2019-04-19T21:56:43Z","API_KEY":"k","__unknown_fields":1}""");
        Assert.Null(error);
        Assert.Null(record!.ApiKey);
        Assert.Equal("k", record.Extra!["API_KEY"].GetString());
        Assert.Contains("\"API_KEY\":\"k\"", CallRecordFields.ToFlatJson(record));
    }

    [Fact]
    public void An_array_body_is_split_into_its_elements_and_anything_else_is_not_a_batch()
    {
        var body = Encoding.UTF8.GetBytes(""" [ {"a":[1,{"b":"]"}]}, 2 ,"x" ] """);
        var elements = CallRecordParser.SplitArray(body)!;
        Assert.Equal(["""{"a":[1,{"b":"]"}]}""", "2", "\"x\""], elements.Select(r => Encoding.UTF8.GetString(body[r])));
        Assert.Null(CallRecordParser.SplitArray("""{"a":1}"""u8));
        Assert.Null(CallRecordParser.SplitArray("""[{"a":1}"""u8));
        Assert.Null(CallRecordParser.SplitArray("""[1] [2]"""u8));
        Assert.Empty(CallRecordParser.SplitArray("[]"u8)!);
    }

    [Fact]
    public void A_newline_delimited_body_is_split_into_its_non_blank_lines_up_to_a_limit()
    {
        var body = Encoding.UTF8.GetBytes("{\"a\":1}\r\n\n  \nnot json\n{\"b\":2}");
        Assert.Equal(["{\"a\":1}\r", "not json", "{\"b\":2}"], CallRecordParser.SplitLines(body, 10).Select(r => Encoding.UTF8.GetString(body[r])));
        Assert.Equal(2, CallRecordParser.SplitLines(body, 2).Count);
        Assert.StartsWith("The line is not valid JSON", Parse("not json").Error);
    }

    [Fact]
    public void Csv_quotes_fields_with_commas_quotes_and_line_breaks_and_ends_rows_with_crlf()
    {
        var text = new StringBuilder();
        Csv.AppendRow(text, ["plain", "a,b", "say \"hi\"", "two\nlines", null, ""]);
        Assert.Equal("plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,\r\n", text.ToString());
    }
}
