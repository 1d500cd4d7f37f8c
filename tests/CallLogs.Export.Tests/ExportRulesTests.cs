using CallLogs.Contracts;
using CallLogs.Export.Domain;

namespace CallLogs.Export.Tests;

public sealed class ExportRulesTests
{
    private static CallRecord Record(string? key = "k1", string? service = "Weather", string? serviceId = "svc-1", int? code = 200) => new()
    {
        RequestUuid = Guid.NewGuid().ToString(),
        RequestTime = DateTimeOffset.UtcNow,
        ApiKey = key,
        ServiceName = service,
        ServiceId = serviceId,
        HttpStatusCode = code,
    };

    private static ExportFilter F(FilterField field, FilterOperator op, string value) => new() { Field = field, Operator = op, Value = value };

    [Fact]
    public void No_filters_keep_every_record() => Assert.True(ExportRules.Matches([], Record()));

    [Fact]
    public void Is_keeps_records_whose_value_is_one_of_the_listed_ones()
    {
        ExportFilter[] filters = [F(FilterField.ApiKey, FilterOperator.Is, "k1"), F(FilterField.ApiKey, FilterOperator.Is, "k2")];
        Assert.True(ExportRules.Matches(filters, Record(key: "k2")));
        Assert.False(ExportRules.Matches(filters, Record(key: "k3")));
        Assert.False(ExportRules.Matches(filters, Record(key: null)));
    }

    [Fact]
    public void Is_not_keeps_records_whose_value_is_none_of_them()
    {
        ExportFilter[] filters = [F(FilterField.ResponseCode, FilterOperator.IsNot, "500"), F(FilterField.ResponseCode, FilterOperator.IsNot, "503")];
        Assert.True(ExportRules.Matches(filters, Record(code: 200)));
        Assert.False(ExportRules.Matches(filters, Record(code: 503)));
    }

    [Fact]
    public void Api_definition_matches_the_service_name_or_its_id()
    {
        ExportFilter[] byName = [F(FilterField.ApiDefinition, FilterOperator.Is, "Weather")];
        ExportFilter[] byId = [F(FilterField.ApiDefinition, FilterOperator.Is, "svc-1")];
        Assert.True(ExportRules.Matches(byName, Record()));
        Assert.True(ExportRules.Matches(byId, Record(service: "Other")));
        Assert.False(ExportRules.Matches(byId, Record(service: "Other", serviceId: "svc-2")));
    }

    [Fact]
    public void Across_fields_every_filter_must_hold()
    {
        ExportFilter[] filters = [F(FilterField.ApiKey, FilterOperator.Is, "k1"), F(FilterField.ResponseCode, FilterOperator.IsNot, "500")];
        Assert.True(ExportRules.Matches(filters, Record(key: "k1", code: 200)));
        Assert.False(ExportRules.Matches(filters, Record(key: "k1", code: 500)));
        Assert.False(ExportRules.Matches(filters, Record(key: "k2", code: 200)));
    }

    [Fact]
    public void Masking_applies_to_api_key_and_oauth_token_only()
    {
        var record = Record(key: "0123456789") with { OauthAccessToken = "abcdefghij", ServiceName = "0123456789" };
        var values = ExportRules.Values(record, mask: true, keep: 3);
        var names = CallRecordFields.Names.ToList();
        Assert.Equal("012****789", values[names.IndexOf("api_key")]);
        Assert.Equal("abc****hij", values[names.IndexOf("oauth_access_token")]);
        Assert.Equal("0123456789", values[names.IndexOf("service_name")]);
        Assert.Equal("**", ExportRules.Values(record with { ApiKey = "ab" }, true, 1)[names.IndexOf("api_key")]);
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
