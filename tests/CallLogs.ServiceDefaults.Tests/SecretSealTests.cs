using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Secrets;
using CallLogs.Testing;
using CsCheck;
using Microsoft.Extensions.Options;

namespace CallLogs.ServiceDefaults.Tests;

/// <summary>
/// The sealing of call records' secrets. The fields under test are read from <see cref="CallRecord"/> itself: a text
/// field added to the record and forgotten by the seal fails here.
/// </summary>
public sealed class SecretSealTests
{
    private const string Key = "fav6x8vp8wwcyj65m7yv3bzt";
    private const string Token = "oauth-2YotnFZFEjr1zCsicMWpAA";
    private static readonly string KeyText = new('k', 40);
    private static readonly SecretSeal Seal = SealWith(KeyText);

    /// <summary>Every text a gateway can send in a known field: no control character, no lone surrogate.</summary>
    private static readonly Gen<string> StorableText = Gen.Char['\u0020', '\uD7FF'].Array[1, 60].Select(chars => new string(chars));

    private static SecretSeal SealWith(string key, params string[] retired) =>
        new(Options.Create(new SealingOptions { Key = key, RetiredKeys = [.. retired] }));

    public static TheoryData<string> TextFields()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in Fields().Where(f => f.Property.PropertyType == typeof(string) && f.Name != "request_uuid"))
        {
            data.Add(name);
        }

        return data;
    }

    private static IEnumerable<(string Name, PropertyInfo Property)> Fields() => SampleRecords.Fields();

    private static CallRecord Record(string? apiKey = Key, string? token = Token) => new()
    {
        RequestUuid = Guid.NewGuid().ToString(),
        RequestTime = DateTimeOffset.UnixEpoch,
        ApiKey = apiKey,
        OauthAccessToken = token,
        ServiceName = "forecast",
        HttpStatusCode = 200,
    };

    [Fact]
    public void Any_text_sealed_opens_to_itself_holds_none_of_it_and_seals_alike_every_time()
    {
        StorableText.Sample(secret =>
        {
            var sealedText = Seal.Seal(secret);
            Assert.Equal(secret, Seal.Open(sealedText));
            Assert.Equal(sealedText, Seal.Seal(secret));
            Assert.Equal(SecretSeal.Start, sealedText[0]);
            Assert.Equal(SecretSeal.End, sealedText[^1]);
            Assert.True(secret.Length < 4 || !sealedText.Contains(secret, StringComparison.Ordinal));
            Assert.Equal($"a {secret} b {secret}", Seal.Open($"a {sealedText} b {sealedText}"));
        });
    }

    [Fact]
    public void More_distinct_secrets_than_the_caches_hold_all_open_to_themselves()
    {
        var seal = SealWith(new string('c', 40));
        var secrets = Enumerable.Range(0, 40_000).Select(i => $"key-{i:D6}-abcdef").ToList();
        var sealedTexts = secrets.Select(seal.Seal).ToList();

        Assert.Equal(secrets, sealedTexts.Select(seal.Open));
        Assert.Equal(sealedTexts, secrets.Select(seal.Seal));
        Assert.Equal(secrets, sealedTexts.Select(SealWith(new string('c', 40)).Open));
    }

    [Theory]
    [MemberData(nameof(TextFields))]
    public void A_sealed_record_holds_the_key_and_the_token_in_no_field_and_opens_to_the_record_sent(string field)
    {
        var property = Fields().Single(f => f.Name == field).Property;
        var record = Record();
        var carrying = field switch
        {
            "api_key" => Key,
            "oauth_access_token" => Token,
            "request_id" => $"1555711003.068__{Key}",
            _ => $"https://api.example.net/v1/forecast?api_key={Key}&access_token={Token}",
        };
        property.SetValue(record, carrying);

        var sealedRecord = Seal.Seal(record);

        var flat = CallRecordFields.ToFlatJson(sealedRecord);
        Assert.DoesNotContain(Key, flat, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, flat, StringComparison.Ordinal);
        Assert.Equal(CallRecordFields.ToFlatJson(record), CallRecordFields.ToFlatJson(Seal.Open(sealedRecord)));
        Assert.Equal(CallRecordFields.Values(record), Seal.Open(CallRecordFields.Values(sealedRecord)));
        Assert.Equal(record.RequestUuid, sealedRecord.RequestUuid);
    }

    [Fact]
    public void Secrets_in_unknown_fields_are_sealed_at_any_depth_and_numbers_and_names_stay()
    {
        var extra = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>($$"""
            {"callback": "https://x.example/?key={{Key}}", "nested": {"list": ["{{Token}}", 7, {"deep": "Bearer {{Token}}"}]}, "count": 12}
            """)!;
        var record = Record() with { Extra = extra };

        var sealedRecord = Seal.Seal(record);

        var flat = CallRecordFields.ToFlatJson(sealedRecord);
        Assert.DoesNotContain(Key, flat, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, flat, StringComparison.Ordinal);
        Assert.Contains("\"count\":12", flat, StringComparison.Ordinal);
        Assert.Equal(CallRecordFields.ToFlatJson(record), CallRecordFields.ToFlatJson(Seal.Open(sealedRecord)));
    }

    [Fact]
    public void A_secret_shorter_than_masking_looks_for_elsewhere_is_sealed_in_its_own_field_only()
    {
        var record = Record(apiKey: "abc12", token: "-") with { Uri = "/v1/abc12/forecast" };

        var sealedRecord = Seal.Seal(record);

        Assert.NotEqual("abc12", sealedRecord.ApiKey);
        Assert.Equal("-", sealedRecord.OauthAccessToken);
        Assert.Equal("/v1/abc12/forecast", sealedRecord.Uri);
        Assert.Equal("abc12", Seal.Open(sealedRecord).ApiKey);
    }

    [Fact]
    public void A_record_without_secrets_is_left_as_it_is()
    {
        var record = Record(apiKey: null, token: "");
        Assert.Same(record, Seal.Seal(record));
        Assert.Same(record, Seal.Open(record));
    }

    [Fact]
    public void A_retired_key_still_opens_what_it_sealed_and_the_filters_match_every_stored_form()
    {
        var old = SealWith(new string('o', 40));
        var rotated = SealWith(KeyText, new string('o', 40));

        Assert.Equal(Key, rotated.Open(old.Seal(Key)));
        Assert.NotEqual(old.Seal(Key), Seal.Seal(Key));
        Assert.Equal([Key, Seal.Seal(Key), old.Seal(Key)], rotated.StoredForms(Key));
    }

    [Fact]
    public void A_record_sealed_with_a_key_the_service_lacks_is_refused_not_shown_sealed()
    {
        var sealedRecord = SealWith(new string('o', 40)).Seal(Record());

        Assert.Throws<SealedSecretException>(() => Seal.Open(sealedRecord));
        Assert.Throws<SealedSecretException>(() => Seal.Open(CallRecordFields.Values(sealedRecord)));
    }

    [Fact]
    public void An_altered_sealed_secret_is_refused()
    {
        var sealedText = Seal.Seal(Key);
        var middle = sealedText.Length / 2;
        var altered = string.Concat(sealedText.AsSpan(0, middle), sealedText[middle] == 'A' ? "B" : "A", sealedText.AsSpan(middle + 1));

        Assert.Throws<SealedSecretException>(() => Seal.Open(altered));
    }

    [Fact]
    public void Control_characters_of_the_gateways_own_in_an_unknown_field_are_text_not_sealed_secrets()
    {
        // A gateway may send any control character but NUL in an unknown field: text that looks like a sealed secret stays.
        StorableText.Sample(text =>
        {
            foreach (var value in new[] { $"\u0001{text}\u0002", $"\u0001{text}", $"{text}\u0002\u0001", $"\u0001abcdefgh{text}\u0002" })
            {
                Assert.Equal(value, Seal.Open(value));
            }
        });
    }

    [Theory]
    [InlineData("", "Sealing:Key is missing")]
    [InlineData("short", "at least 32")]
    public void A_missing_or_short_key_is_a_clear_error(string key, string message)
    {
        var options = new SealingOptions { Key = key };
        var results = new List<ValidationResult>();
        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)
            && !options.Validate(new ValidationContext(options)).Any());
        Assert.Contains(results.Concat(options.Validate(new ValidationContext(options))), r => r.ErrorMessage!.Contains(message, StringComparison.Ordinal));
    }
}
