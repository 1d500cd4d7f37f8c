using System.Text;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Ingest.Apis;
using CallLogs.Ingest.Domain;
using CallLogs.ServiceDefaults.Errors;
using CsCheck;

namespace CallLogs.Ingest.Tests;

/// <summary>Properties of the record check, the body splitters and the continuation token, over generated input.</summary>
public sealed class CallRecordPropertyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly RecordLimits Limits = RecordLimits.For(Now, 30, TimeSpan.FromMinutes(5));

    private static readonly string[] TextFields =
    [
        "request_uuid", "request_id", "api_key", "oauth_access_token", "api_method_name", "service_id", "service_name", "endpoint_name",
        "package_name", "org_name", "http_method", "response_string", "traffic_manager", "src_ip", "user_agent", "referrer", "uri", "x_unknown",
    ];

    /// <summary>Any text: every UTF-16 code unit, NUL, controls and lone surrogates included.</summary>
    private static readonly Gen<string> AnyText = Gen.Char.Array[0, 40].Select(chars => new string(chars));

    private static readonly Gen<string> StorableTextGen = Gen.Char['\u0020', '\uD7FF'].Array[1, 40].Select(chars => new string(chars));

    private static string Record(string field, string value, string time = "2026-11-23T11:00:00Z")
    {
        var fields = new Dictionary<string, object?> { ["request_uuid"] = "u-1", ["request_time"] = time };
        fields[field] = value;
        return JsonSerializer.Serialize(fields);
    }

    [Fact]
    public void A_text_field_is_taken_exactly_when_its_value_is_storable_and_never_throws()
    {
        Gen.Select(Gen.OneOf(TextFields), AnyText).Sample((field, value) =>
        {
            var (record, error) = CallRecordParser.Parse(Encoding.UTF8.GetBytes(Record(field, value)), Limits);
            var expected = StorableText.IsStorable(value, allowControls: field == "x_unknown") && !(field == "request_uuid" && string.IsNullOrWhiteSpace(value));
            Assert.True(expected == (record is not null), $"{field}={JsonSerializer.Serialize(value)}: {error}");
            if (record is null)
            {
                Assert.False(string.IsNullOrWhiteSpace(error));
            }
            else
            {
                // Whatever is taken can be written as the flat JSON that is stored and read back to the same record.
                var again = CallRecordParser.Parse(Encoding.UTF8.GetBytes(CallRecordFields.ToFlatJson(record)), Limits).Record;
                Assert.Equal(CallRecordFields.Values(record), CallRecordFields.Values(again!));
            }
        }, iter: 4000);
    }

    [Fact]
    public void Storable_text_in_any_field_is_always_taken_and_kept_as_sent()
    {
        Gen.Select(Gen.OneOf(TextFields), StorableTextGen).Sample((field, value) =>
        {
            var (record, error) = CallRecordParser.Parse(Encoding.UTF8.GetBytes(Record(field, value)), Limits);
            Assert.True(record is not null, error);
            var flat = JsonDocument.Parse(CallRecordFields.ToFlatJson(record)).RootElement;
            Assert.Equal(value, flat.GetProperty(field).GetString());
        });
    }

    [Fact]
    public void A_request_time_is_taken_exactly_when_it_lies_within_the_retention_and_the_clock_skew()
    {
        Gen.Long[DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks].Select(t => new DateTimeOffset(t, TimeSpan.Zero)).Sample(time =>
        {
            var (record, _) = CallRecordParser.Parse(Encoding.UTF8.GetBytes(Record("api_key", "k", time.ToString("O"))), Limits);
            Assert.Equal(time >= Limits.Earliest && time <= Limits.Latest, record is not null);
        });
        Gen.Long[Limits.Earliest.UtcTicks - TimeSpan.TicksPerHour, Limits.Latest.UtcTicks + TimeSpan.TicksPerHour].Select(t => new DateTimeOffset(t, TimeSpan.Zero)).Sample(time =>
        {
            var (record, _) = CallRecordParser.Parse(Encoding.UTF8.GetBytes(Record("api_key", "k", time.ToString("O"))), Limits);
            Assert.Equal(time >= Limits.Earliest && time <= Limits.Latest, record is not null);
        });
    }

    [Fact]
    public void Numbers_are_taken_exactly_when_they_are_not_negative()
    {
        Gen.Select(Gen.OneOf("bytes", "qps_throttle_value", "quota_value", "connect_time", "total_request_exec_time"), Gen.Long).Sample((field, value) =>
        {
            var json = $$"""{"request_uuid":"u","request_time":"2026-11-23T11:00:00Z","{{field}}":{{value}}}""";
            var (record, error) = CallRecordParser.Parse(Encoding.UTF8.GetBytes(json), Limits);
            Assert.True((value >= 0) == (record is not null), error);
        });
    }

    [Fact]
    public void Any_bytes_give_a_record_or_a_reason_and_never_an_exception()
    {
        var jsonish = Gen.OneOf<byte[]>(
            Gen.Byte.Array[0, 200],
            Gen.Char["{}[]\":,\\u0123456789abcdefnrtl \t\n-+.eE"].Array[0, 200].Select(c => Encoding.UTF8.GetBytes(new string(c))),
            Gen.Int[0, 3000].Select(n => Encoding.UTF8.GetBytes($$"""{"request_uuid":"u","request_time":"2026-11-23T11:00:00Z","x":{{new string('[', n)}}{{new string(']', n)}}}""")));
        jsonish.Sample(bytes =>
        {
            var (record, error) = CallRecordParser.Parse(bytes, Limits);
            Assert.True(record is not null ^ error is not null);
            _ = CallRecordParser.SplitArray(bytes);
            Assert.True(CallRecordParser.SplitLines(bytes, 100).Count <= 100);
        }, iter: 3000);
    }

    [Fact]
    public void A_continuation_token_reads_back_to_its_position_and_any_other_string_is_refused_without_an_exception()
    {
        Gen.Select(Gen.Long[DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks], StorableTextGen).Sample((ticks, uuid) =>
        {
            var time = new DateTimeOffset(ticks, TimeSpan.Zero);
            Assert.Equal((time, uuid), ContinuationToken.TryRead(ContinuationToken.Write(time, uuid)));
        });
        Gen.OneOf<string>(AnyText, Gen.Select(Gen.Long, AnyText).Select((n, s) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{n}|{s}")))).Sample(token =>
        {
            if (ContinuationToken.TryRead(token) is { } position)
            {
                Assert.True(StorableText.IsStorable(position.Item2));
            }
        }, iter: 3000);
    }
}
