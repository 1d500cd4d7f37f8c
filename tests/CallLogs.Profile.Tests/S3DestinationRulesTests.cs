using CallLogs.ServiceDefaults.Storage;
using CsCheck;

namespace CallLogs.Profile.Tests;

/// <summary>The S3 destination rules profiles (and audit trails) are judged by: a value is valid exactly as sent, or refused with the reason.</summary>
public sealed class S3DestinationRulesTests
{
    [Theory]
    [InlineData("bucket-name")]
    [InlineData("abc")]
    [InlineData("my.bucket.2017")]
    [InlineData("bucket-name/additional-path")]
    [InlineData("bucket-name/additional/path")]
    [InlineData("bucket-name/Exports_2026/call-logs.v2/x")]
    [InlineData("bucket-name/...a/b..c")]
    public void A_bucket_with_or_without_a_plain_path_is_valid(string value) => Assert.Null(S3DestinationRules.BucketPathError(value));

    [Theory]
    [InlineData("mine/../theirs", "'..' segment")]
    [InlineData("mine/a/..", "'..' segment")]
    [InlineData("mine/./x", "'.' segment")]
    [InlineData("mine/...", "'...' segment")]
    [InlineData("mine/a%2e%2e/x", "'%' (in segment 1")]
    [InlineData("mine/a\\..\\theirs", "'\\'")]
    [InlineData("mine/*", "'*'")]
    [InlineData("mine/a?x=1", "'?'")]
    [InlineData("mine/a#b", "'#'")]
    [InlineData("mine/été", "'é'")]
    [InlineData("mine//x", "empty segments")]
    [InlineData("mine/", "must not end with '/'")]
    [InlineData("/mine", "3 to 63 characters")]
    [InlineData("mine/x\n", "a line feed (U+000A) at its end")]
    [InlineData("mine\t/x", "a TAB (U+0009) at position 5")]
    [InlineData("mine/a\u007fb", "a DEL character (U+007F)")]
    [InlineData("mine/a\0b", "a NUL character (U+0000)")]
    [InlineData(" mine", "a space at its start")]
    [InlineData("mine/a b", "a space at position 7")]
    [InlineData("mine/a\u200bb", "U+200B")]
    [InlineData("mine/a\u00a0b", "U+00A0")]
    [InlineData("s3://mine", "URL schemes")]
    [InlineData("https://mine/path", "URL schemes")]
    [InlineData("arn:aws:s3:::mine", "only lowercase letters")]
    [InlineData("Mine", "only lowercase letters")]
    [InlineData("mine..x", "two adjacent dots")]
    [InlineData("mine.-x", "a dot next to a hyphen")]
    [InlineData("192.168.5.4", "IP address")]
    [InlineData("xn--mine", "must not begin with 'xn--'")]
    [InlineData("amzn-s3-demo-mine", "must not begin with 'amzn-s3-demo-'")]
    [InlineData("mine-s3alias", "must not end with '-s3alias'")]
    [InlineData("mine--x-s3", "must not end with '--x-s3'")]
    [InlineData("", "required")]
    [InlineData(null, "required")]
    public void A_bucket_path_that_could_leave_its_bucket_or_be_read_differently_is_refused_with_the_reason(string? value, string reason)
    {
        var error = S3DestinationRules.BucketPathError(value);
        Assert.NotNull(error);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void The_path_may_take_512_bytes_so_that_what_a_writer_appends_has_511_left_of_S3s_1024()
    {
        var longest = "mine/" + new string('a', 200) + "/" + new string('b', S3DestinationRules.MaxPathBytes - 201);
        Assert.Null(S3DestinationRules.BucketPathError(longest));
        Assert.Contains("at most 512", S3DestinationRules.BucketPathError(longest + "c"));
        Assert.Equal(S3DestinationRules.MaxKeyBytes, S3DestinationRules.MaxPathBytes + 1 + S3DestinationRules.MaxKeySuffixBytes);
    }

    [Fact]
    public void A_valid_bucket_path_is_the_same_path_after_any_url_normalisation_so_a_key_under_it_stays_in_the_bucket() =>
        Gen.String["ab.-_/%\\ \t\n?#*é"].Sample(path =>
        {
            var value = "mine/" + path;
            if (S3DestinationRules.BucketPathError(value) is not null)
            {
                return;
            }

            var url = new Uri($"http://s3.example/{value}/object.csv.gz");
            Assert.Equal($"/{value}/object.csv.gz", url.AbsolutePath);
            Assert.Equal("mine", url.Segments[1].TrimEnd('/'));
        });

    [Theory]
    [InlineData("arn:aws:iam::123456789012:role/Export")]
    [InlineData("arn:aws:iam::123456789012:role/calllogs/exports/Export-Role_1+=,.@")]
    [InlineData("arn:aws-cn:iam::123456789012:role/x")]
    [InlineData("arn:aws-us-gov:iam::123456789012:role/x")]
    public void A_role_arn_of_a_role_is_valid(string value) => Assert.Null(S3DestinationRules.RoleArnError(value));

    [Theory]
    [InlineData("arn:aws:iam::123456789012:role/Export\n", "a line feed (U+000A) at its end")]
    [InlineData(" arn:aws:iam::123456789012:role/Export", "a space at its start")]
    [InlineData("arn:aws:iam::123456789012:role/Ex\tport", "a TAB")]
    [InlineData("arn:aws:iam::12345:role/x", "12-digit")]
    [InlineData("arn:aws:iam::123456789012:user/x", "not 'user'")]
    [InlineData("arn:aws:iam:us-east-1:123456789012:role/x", "no region")]
    [InlineData("arn:aws:s3:::bucket", "'iam' service")]
    [InlineData("arn:azure:iam::123456789012:role/x", "partition")]
    [InlineData("arn:aws:iam::123456789012:role/", "1 to 64")]
    [InlineData("arn:aws:iam::123456789012:role/a//b", "may contain only")]
    [InlineData("arn:aws:iam::123456789012:role/rôle", "may contain only")]
    [InlineData("arn:aws:iam::123456789012:role/*", "may contain only")]
    [InlineData("role/x", "must be an ARN")]
    [InlineData("", "required")]
    public void A_role_arn_that_is_not_exactly_a_role_is_refused_with_the_reason(string value, string reason) =>
        Assert.Contains(reason, S3DestinationRules.RoleArnError(value));

    [Fact]
    public void A_role_name_longer_than_64_characters_is_refused() =>
        Assert.Contains("1 to 64", S3DestinationRules.RoleArnError("arn:aws:iam::123456789012:role/" + new string('r', 65)));

    [Theory]
    [InlineData("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")]
    [InlineData("arn:aws:kms:eu-central-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab")]
    [InlineData("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")]
    public void A_kms_key_arn_is_valid(string value) => Assert.Null(S3DestinationRules.KmsKeyArnError(value));

    [Theory]
    [InlineData("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\n", "a line feed")]
    [InlineData("arn:aws:kms:us-east-1:123456789012:alias/exports", "not an alias")]
    [InlineData("arn:aws:kms::123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "region")]
    [InlineData("arn:aws:kms:us-east-1:123456789012:key/1234ABCD-12AB-34CD-56EF-1234567890AB", "lowercase UUID")]
    [InlineData("arn:aws:kms:us-east-1:123456789012:key/../x", "lowercase UUID")]
    [InlineData("arn:aws:iam::123456789012:role/x", "'kms' service")]
    [InlineData("1234abcd-12ab-34cd-56ef-1234567890ab", "must be an ARN")]
    public void A_kms_key_arn_that_is_not_exactly_a_key_is_refused_with_the_reason(string value, string reason) =>
        Assert.Contains(reason, S3DestinationRules.KmsKeyArnError(value));

    [Theory]
    [InlineData("ab")]
    [InlineData("calllogs-external-id")]
    [InlineData("a_b+c=d,e.f@g:h/i-j")]
    public void An_external_id_of_sts_characters_is_valid(string value) => Assert.Null(S3DestinationRules.ExternalIdError(value));

    [Theory]
    [InlineData("x", "2 to 1224")]
    [InlineData("ext-42\n", "a line feed (U+000A) at its end")]
    [InlineData("has space", "a space at position 4")]
    [InlineData("ext\t42", "a TAB")]
    [InlineData("ext#42", "'#' is not allowed")]
    [InlineData("exté", "'é' is not allowed")]
    [InlineData("", "required")]
    public void An_external_id_sts_would_not_take_is_refused_with_the_reason(string value, string reason) =>
        Assert.Contains(reason, S3DestinationRules.ExternalIdError(value));

    [Fact]
    public void An_external_id_of_1224_characters_is_valid_and_one_more_is_not()
    {
        Assert.Null(S3DestinationRules.ExternalIdError(new string('e', 1224)));
        Assert.Contains("2 to 1224", S3DestinationRules.ExternalIdError(new string('e', 1225)));
    }
}
