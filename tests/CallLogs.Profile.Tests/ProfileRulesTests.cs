using CallLogs.Profile.Apis;
using CallLogs.Profile.Domain;
using FluentValidation.TestHelper;
using Microsoft.Extensions.Time.Testing;

namespace CallLogs.Profile.Tests;

/// <summary>Every rule of an export profile (validation, filters, the next export time), without I/O.</summary>
public sealed class ProfileRulesTests
{
    private static readonly DateTimeOffset Now = new(2017, 3, 21, 5, 0, 0, TimeSpan.Zero);
    private readonly CreateExportProfileRequestValidator _create = new(new FakeTimeProvider(Now));

    private static CreateExportProfileRequest Valid() => new(
        "Test Call Log Export", "bucket-name", null, false, null, Now.AddHours(2), null, null);

    [Theory]
    [InlineData("2017-03-21T06:57:00.000+00:00", "2017-03-21T07:00:00+00:00")] // a few minutes before the hour
    [InlineData("2017-03-21T06:29:00+00:00", "2017-03-21T06:00:00+00:00")]
    [InlineData("2017-03-21T06:30:00+00:00", "2017-03-21T07:00:00+00:00")]   // half past rounds up
    [InlineData("2017-03-21T06:29:59.999+00:00", "2017-03-21T06:00:00+00:00")]
    [InlineData("2017-03-21T07:00:00+00:00", "2017-03-21T07:00:00+00:00")]
    [InlineData("2017-03-21T23:45:00+00:00", "2017-03-22T00:00:00+00:00")]
    [InlineData("2017-03-21T08:57:00+02:00", "2017-03-21T07:00:00+00:00")]   // any offset, snapped in UTC
    public void Collect_from_snaps_to_the_nearest_hour_mark(string given, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected), HourSnapping.ToNearestHour(DateTimeOffset.Parse(given)));

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(127)]
    public void Characters_to_leave_unmasked_from_0_to_127_are_accepted(int unmasked) =>
        _create.TestValidate(Valid() with { MaskSensitiveData = true, UnmaskedCharacters = unmasked }).ShouldNotHaveAnyValidationErrors();

    [Theory]
    [InlineData(-1)]
    [InlineData(128)]
    public void Characters_to_leave_unmasked_outside_0_to_127_are_refused(int unmasked) =>
        _create.TestValidate(Valid() with { MaskSensitiveData = true, UnmaskedCharacters = unmasked })
            .ShouldHaveValidationErrorFor(r => r.UnmaskedCharacters).WithErrorMessage("Number of characters to leave unmasked must be from 0 to 127 (0 masks the whole value).");

    [Theory]
    [InlineData("bucket-name")]
    [InlineData("bucket-name/additional-path")]
    [InlineData("bucket-name/additional/path")]
    [InlineData("my.bucket.2017")]
    [InlineData("abc")]
    public void A_bucket_name_with_or_without_a_path_is_accepted(string bucket) =>
        _create.TestValidate(Valid() with { S3Bucket = bucket }).ShouldNotHaveAnyValidationErrors();

    [Theory]
    [InlineData("s3://bucket-name")]
    [InlineData("https://bucket-name/additionalPath")]
    [InlineData("http://bucket-name")]
    [InlineData("ftp://bucket-name")]
    public void A_url_scheme_is_refused_with_a_message_to_give_the_bare_bucket_name(string bucket) =>
        _create.TestValidate(Valid() with { S3Bucket = bucket })
            .ShouldHaveValidationErrorFor(r => r.S3Bucket).WithErrorMessage(
                "Give the bare bucket name and optional path, e.g. 'bucketName' or 'bucketName/additional/path'; URL schemes such as 's3://' or 'https://' are not accepted.");

    [Theory]
    [InlineData("")]
    [InlineData("ab")]
    [InlineData("Bucket-Name")]
    [InlineData("bucket_name")]
    [InlineData("-bucket")]
    [InlineData("bucket-")]
    [InlineData("bucket..name")]
    [InlineData("192.168.5.4")]
    [InlineData("xn--bucket")]
    [InlineData("bucket-s3alias")]
    [InlineData("bucket-name//path")]
    [InlineData("bucket-name/")]
    public void An_invalid_bucket_name_or_path_is_refused(string bucket) =>
        _create.TestValidate(Valid() with { S3Bucket = bucket }).ShouldHaveValidationErrorFor(r => r.S3Bucket);

    [Fact]
    public void A_bucket_name_longer_than_63_characters_is_refused() =>
        _create.TestValidate(Valid() with { S3Bucket = new string('a', 64) }).ShouldHaveValidationErrorFor(r => r.S3Bucket);

    [Fact]
    public void Every_missing_required_field_is_listed_at_once()
    {
        var result = _create.TestValidate(Valid() with { Name = "", S3Bucket = "", CollectFrom = null });
        result.ShouldHaveValidationErrorFor(r => r.Name);
        result.ShouldHaveValidationErrorFor(r => r.S3Bucket);
        result.ShouldHaveValidationErrorFor(r => r.CollectFrom);
    }

    [Fact]
    public void A_name_may_contain_spaces_and_special_characters() =>
        _create.TestValidate(Valid() with { Name = "Test_Call_Log-Export 1 (é/€)" }).ShouldNotHaveAnyValidationErrors();

    [Fact]
    public void Collect_from_in_the_past_is_refused() =>
        _create.TestValidate(Valid() with { CollectFrom = Now.AddMinutes(-1) })
            .ShouldHaveValidationErrorFor(r => r.CollectFrom).WithErrorMessage("Collect from must be in the future.");

    [Fact]
    public void Collect_until_must_be_later_than_the_snapped_start()
    {
        var from = Now.AddHours(1).AddMinutes(40); // snaps to Now + 2 h
        _create.TestValidate(Valid() with { CollectFrom = from, CollectUntil = Now.AddHours(1).AddMinutes(50) })
            .ShouldHaveValidationErrorFor(r => r.CollectUntil);
        _create.TestValidate(Valid() with { CollectFrom = from, CollectUntil = Now.AddHours(2) })
            .ShouldHaveValidationErrorFor(r => r.CollectUntil);
        _create.TestValidate(Valid() with { CollectFrom = from, CollectUntil = Now.AddHours(2).AddMinutes(1) })
            .ShouldNotHaveAnyValidationErrors();
    }

    [Fact]
    public void Without_collect_until_the_export_runs_until_disabled() =>
        _create.TestValidate(Valid() with { CollectUntil = null }).ShouldNotHaveAnyValidationErrors();

    [Fact]
    public void Is_on_api_key_and_is_not_on_response_code_are_accepted_together() =>
        _create.TestValidate(Valid() with
        {
            Filters =
            [
                new FilterSetting("apiKey", "is", "key-1"),
                new FilterSetting("apiKey", "is", "key-2"),
                new FilterSetting("responseCode", "is not", "500"),
                new FilterSetting("responseCode", "is not", "503"),
                new FilterSetting("apiDefinition", "is", "Weather API"),
            ],
        }).ShouldNotHaveAnyValidationErrors();

    [Theory]
    [InlineData("is", "is not")]
    [InlineData("is not", "is")]
    public void Mixing_is_and_is_not_within_one_field_is_refused_and_the_first_filter_decides(string first, string second)
    {
        var result = _create.TestValidate(Valid() with
        {
            Filters = [new FilterSetting("apiKey", first, "key-1"), new FilterSetting("apiKey", second, "key-2")],
        });
        result.ShouldHaveValidationErrorFor("filters[1].operator")
            .WithErrorMessage($"Filters on apiKey must all use the same operator: filters[0] uses \"{first}\", so this one cannot use \"{second}\". Use \"{first}\" here, or filter on another field.");
        result.ShouldNotHaveValidationErrorFor("filters[0].operator");
    }

    [Theory]
    [InlineData("99")]
    [InlineData("600")]
    [InlineData("2xx")]
    public void A_response_code_filter_outside_100_to_599_is_refused(string value) =>
        _create.TestValidate(Valid() with { Filters = [new FilterSetting("responseCode", "is", value)] })
            .ShouldHaveValidationErrorFor("filters[0].value");

    [Fact]
    public void An_unknown_filter_field_or_operator_is_refused()
    {
        var result = _create.TestValidate(Valid() with { Filters = [new FilterSetting("method", "contains", "GET")] });
        result.ShouldHaveValidationErrorFor("filters[0].field");
        result.ShouldHaveValidationErrorFor("filters[0].operator");
    }

    [Fact]
    public void Bucket_encryption_on_needs_a_role_arn_a_kms_key_arn_and_an_external_id()
    {
        var result = _create.TestValidate(Valid() with { Encryption = new EncryptionSetting(true) });
        result.ShouldHaveValidationErrorFor("Encryption.IamRoleArn");
        result.ShouldHaveValidationErrorFor("Encryption.CmkKeyArn");
        result.ShouldHaveValidationErrorFor("Encryption.IamRoleExternalId");
    }

    [Fact]
    public void Bucket_encryption_with_well_formed_arns_is_accepted() =>
        _create.TestValidate(Valid() with
        {
            Encryption = new EncryptionSetting(true, "arn:aws:iam::123456789012:role/calllogs/ExportRole",
                "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "calllogs-external-id"),
        }).ShouldNotHaveAnyValidationErrors();

    [Theory]
    [InlineData("arn:aws:iam::12345:role/x", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "ext-id")]
    [InlineData("arn:aws:iam::123456789012:user/x", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "ext-id")]
    [InlineData("arn:aws:iam::123456789012:role/x", "arn:aws:kms:us-east-1:123456789012:alias/foo", "ext-id")]
    [InlineData("arn:aws:iam::123456789012:role/x", "1234abcd-12ab-34cd-56ef-1234567890ab", "ext-id")]
    [InlineData("arn:aws:iam::123456789012:role/x", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "x")]
    [InlineData("arn:aws:iam::123456789012:role/x", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "has space")]
    public void Malformed_encryption_settings_are_refused(string role, string key, string externalId) =>
        Assert.False(_create.TestValidate(Valid() with { Encryption = new EncryptionSetting(true, role, key, externalId) }).IsValid);

    [Fact]
    public void Encryption_off_needs_nothing_else() =>
        _create.TestValidate(Valid() with { Encryption = new EncryptionSetting(false) }).ShouldNotHaveAnyValidationErrors();

    [Fact]
    public void A_kms_key_of_another_partition_than_the_role_is_refused() =>
        _create.TestValidate(Valid() with
        {
            Encryption = new EncryptionSetting(true, "arn:aws:iam::123456789012:role/Export",
                "arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "calllogs-external-id"),
        }).ShouldHaveValidationErrorFor("Encryption.CmkKeyArn");

    [Theory]
    [InlineData("Nightly\texport")]
    [InlineData("Nightly\nexport")]
    [InlineData("Nightly\u0000")]
    [InlineData("Nightly\u202Eexport")]
    public void A_name_with_control_or_invisible_characters_is_refused(string escaped) =>
        _create.TestValidate(Valid() with { Name = System.Text.RegularExpressions.Regex.Unescape(escaped) }).ShouldHaveValidationErrorFor(r => r.Name);

    [Theory]
    [InlineData(" key-1")]
    [InlineData("key-1 ")]
    [InlineData("key-1\n")]
    [InlineData("key\t1")]
    public void A_filter_value_is_taken_exactly_so_surrounding_whitespace_and_control_characters_are_refused(string escaped) =>
        _create.TestValidate(Valid() with { Filters = [new FilterSetting("apiKey", "is", System.Text.RegularExpressions.Regex.Unescape(escaped))] })
            .ShouldHaveValidationErrorFor("filters[0].value");

    [Theory]
    [InlineData("+200")]
    [InlineData(" 200")]
    [InlineData("2\u0660\u0660")]
    public void A_response_code_filter_is_plain_digits(string escaped) =>
        _create.TestValidate(Valid() with { Filters = [new FilterSetting("responseCode", "is", System.Text.RegularExpressions.Regex.Unescape(escaped))] })
            .ShouldHaveValidationErrorFor("filters[0].value");

    [Theory]
    [InlineData(0, true)]
    [InlineData(24 * 365 * 10 - 48, true)]
    [InlineData(24 * 365 * 10 + 1, false)]
    public void Collect_from_may_be_at_most_ten_years_ahead(int hoursAhead, bool valid) =>
        Assert.Equal(valid, _create.TestValidate(Valid() with { CollectFrom = Now.AddHours(hoursAhead).AddMinutes(1) }).IsValid);

    [Fact]
    public void The_last_hour_of_the_calendar_snaps_without_overflowing() =>
        Assert.Equal(new DateTimeOffset(9999, 12, 31, 23, 0, 0, TimeSpan.Zero), HourSnapping.ToNearestHour(DateTimeOffset.MaxValue));
}
