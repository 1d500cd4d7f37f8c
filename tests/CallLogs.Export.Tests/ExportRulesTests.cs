using CallLogs.Contracts;
using CallLogs.Export.Domain;

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
    public void Masking_applies_to_api_key_and_oauth_token_only()
    {
        var record = Record(key: "0123456789") with { OauthAccessToken = "abcdefghij", ServiceName = "0123456789" };
        var values = ExportRules.Mask(CallRecordFields.Values(record), mask: true, keep: 3);
        var names = CallRecordFields.Names.ToList();
        Assert.Equal("012****789", values[names.IndexOf("api_key")]);
        Assert.Equal("abc****hij", values[names.IndexOf("oauth_access_token")]);
        Assert.Equal("0123456789", values[names.IndexOf("service_name")]);
        Assert.Equal("**", ExportRules.Mask(CallRecordFields.Values(record with { ApiKey = "ab" }), true, 1)[names.IndexOf("api_key")]);
        Assert.Equal("0123456789", ExportRules.Mask(CallRecordFields.Values(record), mask: false, keep: 3)[names.IndexOf("api_key")]);
    }

    [Fact]
    public void The_object_key_follows_the_layout_with_the_path_of_the_bucket_setting()
    {
        var area = Guid.Parse("11111111-1111-1111-1111-111111111111");
        var profile = Guid.Parse("22222222-2222-2222-2222-222222222222");
        var (bucket, prefix) = ExportRules.Bucket("my-bucket/exports/calls");
        var key = ExportRules.ObjectKey(prefix, area, profile, new DateTimeOffset(2026, 11, 23, 7, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 23, 8, 5, 3, TimeSpan.Zero));
        Assert.Equal("my-bucket", bucket);
        Assert.Equal($"exports/calls/{area}/{profile}/2026/11/23/07/{area}_20261123T070000Z_20261123T080000Z_20261123T080503Z_{profile}.csv.gz", key);
        Assert.StartsWith($"{area}/", ExportRules.ObjectKey(ExportRules.Bucket("my-bucket").Prefix, area, profile, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch));
    }
}
