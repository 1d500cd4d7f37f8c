using System.Reflection;
using System.Text.Json.Serialization;
using CallLogs.Contracts;
using CallLogs.Testing;
using CsCheck;

namespace CallLogs.Export.Tests;

/// <summary>
/// Masking as export files and stream frames apply it. The fields under test are read from <see cref="CallRecord"/>
/// itself, not from a list kept here: a field added to the record is covered without touching these tests.
/// </summary>
public sealed class MaskingTests
{
    private const string Key = "fav6x8vp8wwcyj65m7yv3bzt";
    private const string Token = "oauth-2YotnFZFEjr1zCsicMWpAA";

    /// <summary>Every text field of a call record that goes into CSV exports and stream frames.</summary>
    public static TheoryData<string> TextFields()
    {
        var data = new TheoryData<string>();
        foreach (var field in Fields().Where(f => f.Property.PropertyType == typeof(string)))
        {
            data.Add(field.Name);
        }

        return data;
    }

    private static IEnumerable<(string Name, PropertyInfo Property)> Fields() => SampleRecords.Fields();

    [Fact]
    public void Every_field_of_the_record_is_a_csv_column_so_none_escapes_these_tests()
    {
        var fields = typeof(CallRecord).GetProperties().Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name).Where(n => !n.StartsWith("__", StringComparison.Ordinal));
        Assert.Equal(fields.Order(), CallRecordFields.Names.Order());
    }

    [Theory]
    [MemberData(nameof(TextFields))]
    public void With_masking_on_no_field_shows_the_api_key_or_the_oauth_token_in_full_wherever_the_gateway_put_them(string field)
    {
        var property = Fields().Single(f => f.Name == field).Property;
        var record = new CallRecord { RequestUuid = Guid.NewGuid().ToString(), RequestTime = DateTimeOffset.UnixEpoch, ApiKey = Key, OauthAccessToken = Token };
        var carrying = field switch
        {
            "api_key" => Key,
            "oauth_access_token" => Token,
            "request_id" => $"1555711003.068__{Key}",
            _ => $"https://api.example.net/v1/forecast?api_key={Key}&access_token={Token}",
        };
        property.SetValue(record, carrying);

        foreach (var keep in new[] { 0, 1, 3, 8 })
        {
            var masked = Masking.MaskRecord(CallRecordFields.Values(record), keep);
            Assert.DoesNotContain(masked, v => v is not null && (v.Contains(Key, StringComparison.Ordinal) || v.Contains(Token, StringComparison.Ordinal)));
            Assert.Equal(carrying.Length, masked[CallRecordFields.IndexOf(field)]!.Length); // masked in place, nothing cut
        }
    }

    [Theory]
    [MemberData(nameof(TextFields))]
    public void A_field_that_carries_no_secret_is_exported_unchanged(string field)
    {
        if (CallRecordFields.Secrets.Contains(field))
        {
            return;
        }

        var property = Fields().Single(f => f.Name == field).Property;
        var record = new CallRecord { RequestUuid = Guid.NewGuid().ToString(), RequestTime = DateTimeOffset.UnixEpoch, ApiKey = Key, OauthAccessToken = Token };
        var value = field == "request_id" ? "1555711003.068_svc-1_" : "GET /v1/forecast?city=Lyon HTTP/1.1";
        property.SetValue(record, value);
        Assert.Equal(value, Masking.MaskRecord(CallRecordFields.Values(record), 3)[CallRecordFields.IndexOf(field)]);
    }

    [Theory]
    [InlineData("1555711003.068__fav6x8vp8wwcyj65m7yv3bzt", 3, "1555711003.068__fav******************bzt")]
    [InlineData("1555711003.068__fav6x8vp8wwcyj65m7yv3bzt", 0, "1555711003.068__************************")]
    [InlineData("1555711003.068_2nb3xfmb_fav6x8vp8wwcyj65m7yv3bzt", 2, "1555711003.068_2nb3xfmb_fa********************zt")]
    [InlineData("1555711003_svc_", 3, "1555711003_svc_")]
    [InlineData("no-structure-here", 2, "no*************re")]
    [InlineData("-", 2, "-")]
    public void The_api_key_inside_a_request_id_is_masked_even_when_the_record_has_no_api_key_field(string requestId, int keep, string expected)
    {
        var record = new CallRecord { RequestUuid = "r", RequestTime = DateTimeOffset.UnixEpoch, RequestId = requestId };
        Assert.Equal(expected, Masking.MaskRecord(CallRecordFields.Values(record), keep)[CallRecordFields.IndexOf("request_id")]);
    }

    [Theory]
    [InlineData("0123456789", 3, "012****789")]
    [InlineData("0123456789", 0, "**********")]
    [InlineData("012345", 3, "******")]
    [InlineData("ab", 1, "**")]
    [InlineData("-", 3, "-")]
    [InlineData("", 3, "")]
    public void A_secret_keeps_n_characters_at_each_end_and_is_never_shown_whole(string value, int keep, string expected) =>
        Assert.Equal(expected, Masking.Mask(value, keep));

    [Fact]
    public void For_any_record_no_masked_value_contains_a_secret_long_enough_to_be_recognised()
    {
        var secret = Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"].Array[Masking.MinEmbeddedLength, 40].Select(c => new string(c));
        var text = Gen.Char["abcxyz019 /?&=_-.:"].Array[0, 30].Select(c => new string(c));
        var field = Gen.Select(text, text, Gen.Int[0, 3]).Select((before, after, how) => (before, after, how));
        Gen.Select(secret, secret, field.Array[CallRecordFields.Names.Count], Gen.Int[0, 10]).Sample((key, token, fields, keep) =>
        {
            var values = fields.Select(f => f.how switch
            {
                0 => (string?)null,
                1 => f.before + key + f.after,
                2 => f.before + token + f.after,
                _ => f.before + f.after,
            }).ToArray();
            values[CallRecordFields.IndexOf("api_key")] = key;
            values[CallRecordFields.IndexOf("oauth_access_token")] = token;
            var masked = Masking.MaskRecord([.. values], keep);
            Assert.DoesNotContain(masked, v => v is not null && (v.Contains(key, StringComparison.Ordinal) || v.Contains(token, StringComparison.Ordinal)));
            Assert.Equal(values.Select(v => v?.Length), masked.Select(v => v?.Length));
        });
    }
}
