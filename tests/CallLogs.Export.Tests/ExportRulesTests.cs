using System.Text;
using CallLogs.Contracts;
using CallLogs.Export.Domain;
using CallLogs.ServiceDefaults.Storage;
using CsCheck;

namespace CallLogs.Export.Tests;

public sealed class ExportRulesTests
{
    private static CallRecord Record(string? key = "k1") => new()
    {
        RequestUuid = Guid.NewGuid().ToString(),
        RequestTime = DateTimeOffset.UtcNow,
        ApiKey = key,
        ServiceName = "Weather",
        ServiceId = "svc-1",
        HttpStatusCode = 200,
    };

    private static readonly DateTimeOffset Hour = new(2026, 11, 23, 7, 0, 0, TimeSpan.Zero);
    private static readonly Guid Area = Guid.Parse("11111111-1111-1111-1111-111111111111");
    private static readonly Guid ProfileId = Guid.Parse("22222222-2222-2222-2222-222222222222");

    [Fact]
    public void A_record_is_late_only_when_it_arrives_more_than_the_maximum_lateness_after_its_hour_ended()
    {
        var onTime = Record() with { RequestTime = Hour.AddMinutes(59) };
        var edge = Record() with { RequestTime = Hour };
        var late = Record() with { RequestTime = Hour.AddMinutes(-1) };
        var (inTime, refused) = ExportRules.SplitLate([onTime, edge, late], receivedAt: Hour.AddHours(1) + TimeSpan.FromDays(7), TimeSpan.FromDays(7));
        Assert.Equal([onTime, edge], inTime);
        Assert.Equal([late], refused);
    }

    [Fact]
    public void Without_masking_every_value_is_exported_as_it_came()
    {
        var record = Record(key: "0123456789") with { RequestId = "1555711003.068__0123456789", Uri = "/v1?api_key=0123456789" };
        Assert.Equal(CallRecordFields.Values(record), ExportRules.Mask(CallRecordFields.Values(record), mask: false, keep: 3));
    }

    [Fact]
    public void Masking_for_one_profile_leaves_the_values_as_they_are_for_the_next()
    {
        var record = Record(key: "0123456789") with { RequestId = "1555711003.068__0123456789", Uri = "/v1?api_key=0123456789" };
        var values = CallRecordFields.Values(record);
        var masked = ExportRules.Mask(values, mask: true, keep: 3);
        Assert.Equal("012****789", masked[CallRecordFields.IndexOf("api_key")]);
        Assert.Equal(CallRecordFields.Values(record), values);
        Assert.Equal(CallRecordFields.Values(record), ExportRules.Mask(values, mask: false, keep: 3));
    }

    [Fact]
    public void The_object_key_follows_the_layout_with_the_area_name_beside_its_id()
    {
        var (bucket, prefix, error) = ExportRules.Destination("my-bucket/exports/calls");
        var key = ExportRules.ObjectKey(prefix, Area, "Acme Météo (EU)", ProfileId, Hour, new DateTimeOffset(2026, 11, 23, 8, 5, 3, TimeSpan.Zero));
        Assert.Null(error);
        Assert.Equal("my-bucket", bucket);
        Assert.Equal($"exports/calls/{Area}/{ProfileId}/2026/11/23/07/Acme-Meteo-EU_{Area}_20261123T070000Z_20261123T080000Z_20261123T080503Z_{ProfileId}.csv.gz", key);
        Assert.StartsWith($"{Area}/", ExportRules.ObjectKey(ExportRules.Destination("my-bucket").Prefix, Area, "a", ProfileId, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch));
    }

    [Theory]
    [InlineData("Acme", "Acme")]
    [InlineData("Acme Corp_EU/West", "Acme-Corp-EU-West")]
    [InlineData("../../etc", "etc")]
    [InlineData("Zürich Ünïcödé", "Zurich-Unicode")]
    [InlineData("東京", "area")]
    [InlineData("", "area")]
    [InlineData(null, "area")]
    [InlineData("a\tb\nc\0d", "a-b-c-d")]
    [InlineData("--x--", "x")]
    public void An_area_name_is_made_safe_for_an_S3_key_and_for_splitting_the_file_name_on_underscores(string? name, string expected) =>
        Assert.Equal(expected, ExportRules.SafeAreaName(name));

    [Fact]
    public void Any_area_name_gives_a_short_name_of_letters_digits_and_single_hyphens() =>
        Gen.String.Sample(name =>
        {
            var safe = ExportRules.SafeAreaName(name);
            Assert.InRange(safe.Length, 1, ExportRules.MaxAreaNameLength);
            Assert.All(safe, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c == '-', $"'{c}' in '{safe}'"));
            Assert.DoesNotContain("--", safe);
            Assert.False(safe.StartsWith('-') || safe.EndsWith('-'), safe);
        });

    [Fact]
    public void The_longest_key_under_the_longest_prefix_stays_within_S3s_limit()
    {
        var prefix = new string('p', 400) + "/" + new string('q', S3DestinationRules.MaxPathBytes - 401);
        var (_, path, error) = ExportRules.Destination($"my-bucket/{prefix}");
        Assert.Null(error);
        var key = ExportRules.ObjectKey(path, Area, new string('n', 500), ProfileId, new DateTimeOffset(9998, 12, 31, 23, 0, 0, TimeSpan.Zero), DateTimeOffset.MaxValue.AddDays(-1));
        Assert.True(Encoding.UTF8.GetByteCount(key) <= S3DestinationRules.MaxKeyBytes, $"{Encoding.UTF8.GetByteCount(key)} bytes");
        Assert.True(Encoding.UTF8.GetByteCount(key) - path.Length - 1 <= S3DestinationRules.MaxKeySuffixBytes);
        Assert.True(ExportRules.IsSafeKey(key));
    }

    [Theory]
    [InlineData("mine/../theirs")]
    [InlineData("mine/./x")]
    [InlineData("mine/x\n")]
    [InlineData("mine//x")]
    [InlineData("s3://mine")]
    public void A_destination_the_rules_refuse_is_never_split_into_a_bucket_and_prefix(string setting)
    {
        var (bucket, prefix, error) = ExportRules.Destination(setting);
        Assert.NotNull(error);
        Assert.Equal(("", ""), (bucket, prefix));
    }

    [Theory]
    [InlineData("a/b/c.csv.gz", true)]
    [InlineData("../theirs/x", false)]
    [InlineData("a/./b", false)]
    [InlineData("a//b", false)]
    [InlineData("/a", false)]
    [InlineData("a/b\n", false)]
    public void A_key_is_safe_only_when_every_segment_is_a_plain_name(string key, bool safe) => Assert.Equal(safe, ExportRules.IsSafeKey(key));
}
