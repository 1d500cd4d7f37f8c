using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Stream.Domain;

namespace CallLogs.Stream.Tests;

public sealed class StreamRulesTests
{
    [Theory]
    [InlineData("0123456789", 3, "012****789")]
    [InlineData("0123456789", 0, "**********")]
    [InlineData("012345", 3, "******")]
    [InlineData("0123456", 3, "012*456")]
    [InlineData("ab", 1, "**")]
    [InlineData("-", 3, "-")]
    [InlineData("", 3, "")]
    [InlineData(null, 3, null)]
    public void Masking_keeps_n_characters_at_each_end_and_never_shows_a_short_secret_whole(string? value, int keep, string? expected) =>
        Assert.Equal(expected, Masking.Mask(value, keep));

    [Fact]
    public void A_frame_carries_every_value_as_a_string_with_ingestion_time_and_unknown_fields()
    {
        var record = new CallRecord
        {
            RequestUuid = "u-1",
            RequestTime = new DateTimeOffset(2019, 4, 19, 21, 56, 43, TimeSpan.Zero),
            ApiKey = "0123456789",
            HttpStatusCode = 200,
            CacheHit = false,
            TotalRequestExecTime = 0.25,
            IngestionTime = 1700000000123,
            Extra = new() { ["log_type"] = JsonDocument.Parse("\"call\"").RootElement, ["n"] = JsonDocument.Parse("7").RootElement },
        };

        using var frame = JsonDocument.Parse(Frames.Data([record], maskKeep: 3));
        var item = frame.RootElement.GetProperty("data")[0];

        Assert.All(item.EnumerateObject(), p => Assert.Equal(JsonValueKind.String, p.Value.ValueKind));
        Assert.Equal("2019-04-19T21:56:43Z", item.GetProperty("request_time").GetString());
        Assert.Equal("200", item.GetProperty("http_status_code").GetString());
        Assert.Equal("false", item.GetProperty("cache_hit").GetString());
        Assert.Equal("1700000000123", item.GetProperty("ingestion_time").GetString());
        Assert.Equal("012****789", item.GetProperty("api_key").GetString());
        Assert.Equal("call", item.GetProperty("log_type").GetString());
        Assert.Equal("7", item.GetProperty("n").GetString());
    }
}
