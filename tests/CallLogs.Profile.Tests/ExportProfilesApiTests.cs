using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Profile.Apis;
using CallLogs.Profile.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;

namespace CallLogs.Profile.Tests;

/// <summary>The profile service over HTTP, against the real PostgreSQL and RabbitMQ.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class ExportProfilesApiTests(Infrastructure infra) : IAsyncLifetime
{
    private ServiceFactory<ProfileDbContext> _service = null!;
    private EventCollector _events = null!;
    private Guid _area;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _service = await ServiceFactory<ProfileDbContext>.StartAsync(infra, "profile");
        _events = await EventCollector.StartAsync(_service.Configuration["ConnectionStrings:messaging"]!);
        _area = await CreateAreaAsync($"Area {Guid.NewGuid():N}");
        _admin = Client(Roles.AreaAdmin, _area);
    }

    public async Task DisposeAsync()
    {
        await _events.DisposeAsync();
        await _service.DisposeAsync();
    }

    private HttpClient Client(string role, Guid? area) => _service.CreateClient(infra.Tokens.Issue(role, area, $"{role}-user", $"{role} user"));

    private async Task<Guid> CreateAreaAsync(string name)
    {
        using var platform = Client(Roles.PlatformAdmin, null);
        using var response = await platform.PostAsJsonAsync("/api/areas", new { name });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<AreaResponse>(Json))!.Id;
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static object NewProfile(string name = "Test Call Log Export") => new
    {
        name,
        s3Bucket = "calllogs-export/area/exports",
        maskSensitiveData = true,
        unmaskedCharacters = 3,
        collectFrom = DateTimeOffset.UtcNow.AddHours(3).AddMinutes(-3),
        collectUntil = DateTimeOffset.UtcNow.AddDays(2),
        filters = new[]
        {
            new { field = "apiKey", @operator = "is", value = "key-1" },
            new { field = "responseCode", @operator = "is not", value = "500" },
        },
    };

    private async Task<ExportProfileResponse> CreateAsync(object? body = null)
    {
        using var response = await _admin.PostAsJsonAsync($"/api/areas/{_area}/export-profiles", body ?? NewProfile());
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<ExportProfileResponse>(Json))!;
    }

    [Fact]
    public async Task A_created_profile_is_enabled_snapped_to_the_hour_and_announced_with_everything_export_needs()
    {
        var profile = await CreateAsync();

        Assert.Equal("enabled", profile.Status);
        Assert.Equal(0, profile.CollectFrom.Minute);
        Assert.Equal(0, profile.CollectFrom.Second);
        var created = await _events.WaitFor<ExportProfileCreated>(e => e.Profile.ProfileId == profile.Id);
        Assert.Equal(_area, created.Profile.AreaId);
        Assert.Equal("calllogs-export/area/exports", created.Profile.S3Bucket);
        Assert.True(created.Profile.MaskSensitiveData);
        Assert.Equal(3, created.Profile.UnmaskedCharacters);
        Assert.Equal(profile.CollectFrom, created.Profile.CollectFrom);
        Assert.Equal(
            [new ExportFilter { Field = FilterField.ApiKey, Operator = FilterOperator.Is, Value = "key-1" },
             new ExportFilter { Field = FilterField.ResponseCode, Operator = FilterOperator.IsNot, Value = "500" }],
            created.Profile.Filters.Select(f => f with { Value = infra.Seal.Open(f.Value)! }));   // an API key is sent sealed
        Assert.Equal(1, created.Profile.Version);
        Assert.True(created.Profile.EscapeCsvFormulas);
        Assert.True(profile.EscapeCsvFormulas);
        Assert.StartsWith("Area ", created.Profile.AreaName);
    }

    [Theory]
    [InlineData("s3Bucket", "mine/../theirs", "'..' segment")]
    [InlineData("s3Bucket", "mine/./theirs", "'.' segment")]
    [InlineData("s3Bucket", "mine/a\\tb", "a TAB (U+0009) at position 7")]
    [InlineData("s3Bucket", "mine/exports\\n", "a line feed (U+000A) at its end")]
    [InlineData("s3Bucket", "mine/a\\u007fb", "a DEL character")]
    [InlineData("s3Bucket", "mine/a\\u0000b", "a NUL character")]
    [InlineData("s3Bucket", " mine", "a space at its start")]
    [InlineData("encryption.iamRoleArn", "arn:aws:iam::123456789012:role/Export\\n", "a line feed (U+000A) at its end")]
    [InlineData("encryption.cmkKeyArn", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\\n", "a line feed (U+000A) at its end")]
    [InlineData("encryption.cmkKeyArn", "arn:aws:kms:us-east-1:123456789012:alias/mine", "not an alias")]
    [InlineData("encryption.iamRoleExternalId", "ext-42\\n", "a line feed (U+000A) at its end")]
    [InlineData("encryption.iamRoleExternalId", "ext 42", "a space at position 4")]
    public async Task A_destination_setting_that_is_not_exactly_valid_is_a_400_saying_why_on_create_and_on_change_and_nothing_is_stored(
        string field, string jsonValue, string reason)
    {
        var encryption = new Dictionary<string, string>
        {
            ["iamRoleArn"] = "arn:aws:iam::123456789012:role/Export",
            ["cmkKeyArn"] = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ["iamRoleExternalId"] = "ext-42",
        };
        var bucket = "\"calllogs-export/area\"";
        if (field == "s3Bucket")
        {
            bucket = $"\"{jsonValue}\"";
        }
        else
        {
            encryption[field.Split('.')[1]] = "@";
        }

        var encryptionJson = string.Join(",", encryption.Select(e => $"\"{e.Key}\":{(e.Value == "@" ? $"\"{jsonValue}\"" : JsonSerializer.Serialize(e.Value))}"));
        var create = $$$"""{"name":"Bad","s3Bucket":{{{bucket}}},"collectFrom":"{{{DateTimeOffset.UtcNow.AddHours(2):O}}}","encryption":{"enabled":true,{{{encryptionJson}}}}}""";
        using var created = await _admin.PostAsync($"/api/areas/{_area}/export-profiles", new StringContent(create, System.Text.Encoding.UTF8, "application/json"));
        await AssertRefusedAsync(created, field, reason);

        var profile = await CreateAsync();
        var change = $$$"""{"s3Bucket":{{{bucket}}},"encryption":{"enabled":true,{{{encryptionJson}}}}}""";
        using var changed = await _admin.PatchAsync($"/api/areas/{_area}/export-profiles/{profile.Id}", new StringContent(change, System.Text.Encoding.UTF8, "application/json"));
        await AssertRefusedAsync(changed, field, reason);

        var list = await _admin.GetFromJsonAsync<PagedList<ExportProfileResponse>>($"/api/areas/{_area}/export-profiles", Json);
        Assert.Equal([(profile.Id, 1L, "calllogs-export/area/exports")], list!.Items.Select(p => (p.Id, p.Version, p.S3Bucket)));
        Assert.DoesNotContain(_events.Received<ExportProfileUpdated>(), e => e.Profile.ProfileId == profile.Id);
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string field, string reason)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        using var problem = JsonDocument.Parse(body);
        var messages = problem.RootElement.GetProperty("errors").GetProperty(field).EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.True(messages.Any(m => m!.Contains(reason, StringComparison.Ordinal)), string.Join(" | ", messages));
    }

    [Theory]
    [InlineData("9999-12-31T23:59:59Z", null, "collectFrom")]
    [InlineData("9999-12-31T23:30:00+00:00", null, "collectFrom")]
    [InlineData("2100-01-01T00:00:00Z", null, "collectFrom")]
    [InlineData(null, "9999-12-31T23:59:59Z", "collectUntil")]
    public async Task A_date_far_in_the_future_is_a_400_naming_it_not_a_500(string? from, string? until, string field)
    {
        var body = $$"""{"name":"Far","s3Bucket":"calllogs-export","collectFrom":"{{from ?? DateTimeOffset.UtcNow.AddHours(2).ToString("O")}}"{{(until is null ? "" : $",\"collectUntil\":\"{until}\"")}}}""";
        using var response = await _admin.PostAsync($"/api/areas/{_area}/export-profiles", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), problem.RootElement.ToString());

        var profile = await CreateAsync();
        using var changed = await _admin.PatchAsync($"/api/areas/{_area}/export-profiles/{profile.Id}",
            new StringContent("""{"collectFrom":"9999-12-31T23:59:59Z"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Conflict, changed.StatusCode);
    }

    [Theory]
    [InlineData("page=2147483647&pageSize=200", "page")]
    [InlineData("page=0", "page")]
    [InlineData("page=-5", "page")]
    [InlineData("pageSize=0", "pageSize")]
    [InlineData("pageSize=201", "pageSize")]
    public async Task Paging_outside_its_range_is_a_400_naming_the_parameter(string query, string field)
    {
        using var response = await _admin.GetAsync($"/api/areas/{_area}/export-profiles?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), problem.RootElement.ToString());
    }

    [Theory]
    [InlineData("page=3000000000", "page")]
    [InlineData("pageSize=99999999999999999999", "pageSize")]
    [InlineData("page=abc", "page")]
    [InlineData("page=1.5", "page")]
    public async Task A_page_number_that_is_not_an_int_is_a_400_naming_it(string query, string field) =>
        await Paging_outside_its_range_is_a_400_naming_the_parameter(query, field);

    [Fact]
    public async Task A_platform_admin_listing_the_profiles_of_an_area_that_does_not_exist_gets_404()
    {
        using var platform = Client(Roles.PlatformAdmin, null);
        using var missing = await platform.GetAsync($"/api/areas/{Guid.NewGuid()}/export-profiles");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("Area not found.", await missing.Content.ReadAsStringAsync());
        using var existing = await platform.GetAsync($"/api/areas/{_area}/export-profiles");
        Assert.Equal(HttpStatusCode.OK, existing.StatusCode);
    }

    [Fact]
    public async Task Csv_formula_escaping_is_on_by_default_and_a_profile_can_switch_it_off_for_raw_values()
    {
        var profile = await CreateAsync();
        using var response = await _admin.PatchAsJsonAsync($"/api/areas/{_area}/export-profiles/{profile.Id}", new { escapeCsvFormulas = false });
        var updated = (await response.Content.ReadFromJsonAsync<ExportProfileResponse>(Json))!;
        Assert.False(updated.EscapeCsvFormulas);
        Assert.False((await _events.WaitFor<ExportProfileUpdated>(e => e.Profile.ProfileId == profile.Id)).Profile.EscapeCsvFormulas);

        var raw = await CreateAsync(new
        {
            name = "Raw", s3Bucket = "calllogs-export", collectFrom = DateTimeOffset.UtcNow.AddHours(2), escapeCsvFormulas = false,
        });
        Assert.False(raw.EscapeCsvFormulas);
    }

    [Fact]
    public async Task Name_bucket_encryption_and_masking_are_editable_and_each_change_is_announced_with_a_higher_version()
    {
        var profile = await CreateAsync();
        using var response = await _admin.PatchAsJsonAsync($"/api/areas/{_area}/export-profiles/{profile.Id}", new
        {
            name = "Renamed export",
            s3Bucket = "other-bucket",
            encryption = new
            {
                enabled = true,
                iamRoleArn = "arn:aws:iam::123456789012:role/Export",
                cmkKeyArn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                iamRoleExternalId = "ext-123",
            },
            unmaskedCharacters = 0,
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var updated = (await response.Content.ReadFromJsonAsync<ExportProfileResponse>(Json))!;
        Assert.Equal("Renamed export", updated.Name);
        Assert.Equal(2, updated.Version);

        var evt = await _events.WaitFor<ExportProfileUpdated>(e => e.Profile.ProfileId == profile.Id);
        Assert.Equal("other-bucket", evt.Profile.S3Bucket);
        Assert.Equal("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", evt.Profile.Encryption!.CmkKeyArn);
        Assert.Equal(0, evt.Profile.UnmaskedCharacters);
        Assert.Equal(2, evt.Profile.Version);
    }

    [Theory]
    [InlineData("collectFrom")]
    [InlineData("collectUntil")]
    [InlineData("filters")]
    public async Task Changing_a_fixed_field_is_refused_with_409_naming_it_and_changes_nothing(string field)
    {
        var profile = await CreateAsync();
        object change = field switch
        {
            "collectFrom" => new { name = "new name", collectFrom = profile.CollectFrom.AddHours(5) },
            "collectUntil" => new { name = "new name", collectUntil = DateTimeOffset.UtcNow.AddDays(9) },
            _ => new { name = "new name", filters = new[] { new { field = "apiKey", @operator = "is", value = "other" } } },
        };

        using var response = await _admin.PatchAsJsonAsync($"/api/areas/{_area}/export-profiles/{profile.Id}", change);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains($"'{field}'", await response.Content.ReadAsStringAsync());
        var unchanged = await _admin.GetFromJsonAsync<ExportProfileResponse>($"/api/areas/{_area}/export-profiles/{profile.Id}", Json);
        Assert.Equal(profile.Name, unchanged!.Name);
        Assert.Equal(1, unchanged.Version);
    }

    [Fact]
    public async Task Sending_a_fixed_field_with_its_current_value_is_no_change()
    {
        var profile = await CreateAsync();
        using var response = await _admin.PatchAsJsonAsync($"/api/areas/{_area}/export-profiles/{profile.Id}",
            new { collectFrom = profile.CollectFrom, name = "Same window" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_bad_profile_gets_a_problem_listing_every_bad_field_and_nothing_is_stored_or_announced()
    {
        using var response = await _admin.PostAsJsonAsync($"/api/areas/{_area}/export-profiles", new
        {
            name = "",
            s3Bucket = "s3://bucket",
            unmaskedCharacters = 200,
            collectFrom = DateTimeOffset.UtcNow.AddHours(-1),
            filters = new[] { new { field = "apiKey", @operator = "is", value = "a" }, new { field = "apiKey", @operator = "is not", value = "b" } },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var errors = problem.RootElement.GetProperty("errors");
        foreach (var field in new[] { "name", "s3Bucket", "unmaskedCharacters", "collectFrom", "filters[1].operator" })
        {
            Assert.True(errors.TryGetProperty(field, out _), $"errors names {field}: {errors}");
        }

        Assert.Contains("bare bucket name", errors.GetProperty("s3Bucket")[0].GetString());
        var list = await _admin.GetFromJsonAsync<PagedList<ExportProfileResponse>>($"/api/areas/{_area}/export-profiles", Json);
        Assert.Equal(0, list!.Total);
        Assert.Empty(_events.Received<ExportProfileCreated>());
    }

    [Fact]
    public async Task Malformed_json_is_a_problem_naming_the_field()
    {
        using var response = await _admin.PostAsync($"/api/areas/{_area}/export-profiles",
            new StringContent("""{"name":"x","collectFrom":"tomorrow"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("collectFrom", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Names_are_unique_within_an_area_whatever_their_case_but_not_across_areas()
    {
        await CreateAsync(NewProfile("Nightly Export"));
        using var duplicate = await _admin.PostAsJsonAsync($"/api/areas/{_area}/export-profiles", NewProfile("NIGHTLY export"));
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);

        var other = await CreateAreaAsync($"Other {Guid.NewGuid():N}");
        using var otherAdmin = Client(Roles.AreaAdmin, other);
        using var elsewhere = await otherAdmin.PostAsJsonAsync($"/api/areas/{other}/export-profiles", NewProfile("Nightly Export"));
        Assert.Equal(HttpStatusCode.Created, elsewhere.StatusCode);
    }

    [Fact]
    public async Task Disable_enable_and_delete_are_announced_in_order_and_listing_pages_through_every_profile()
    {
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await CreateAsync(NewProfile($"Profile {i}"))).Id);
        }

        var target = ids[0];
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/areas/{_area}/export-profiles/{target}/disable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/areas/{_area}/export-profiles/{target}/enable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/api/areas/{_area}/export-profiles/{target}")).StatusCode);

        Assert.Equal(2, (await _events.WaitFor<ExportProfileDisabled>(e => e.Profile.ProfileId == target)).Profile.Version);
        Assert.Equal(3, (await _events.WaitFor<ExportProfileEnabled>(e => e.Profile.ProfileId == target)).Profile.Version);
        Assert.Equal(4, (await _events.WaitFor<ExportProfileDeleted>(e => e.ProfileId == target)).Version);
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.GetAsync($"/api/areas/{_area}/export-profiles/{target}")).StatusCode);

        var seen = new List<Guid>();
        for (var page = 1; page <= 3; page++)
        {
            var list = await _admin.GetFromJsonAsync<PagedList<ExportProfileResponse>>($"/api/areas/{_area}/export-profiles?page={page}&pageSize=2", Json);
            Assert.Equal(4, list!.Total);
            seen.AddRange(list.Items.Select(p => p.Id));
        }

        Assert.Equal(ids.Skip(1).OrderBy(x => x), seen.OrderBy(x => x));
    }

    [Fact]
    public async Task A_token_of_another_area_can_neither_read_change_nor_detect_this_areas_profiles()
    {
        var profile = await CreateAsync();
        var other = await CreateAreaAsync($"Other {Guid.NewGuid():N}");
        using var intruder = Client(Roles.AreaAdmin, other);
        var missing = $"/api/areas/{_area}/export-profiles/{Guid.NewGuid()}";
        var existing = $"/api/areas/{_area}/export-profiles/{profile.Id}";

        var answers = new[]
        {
            await intruder.GetAsync(existing),
            await intruder.GetAsync(missing),
            await intruder.GetAsync($"/api/areas/{_area}/export-profiles"),
            await intruder.PatchAsJsonAsync(existing, new { name = "hijacked" }),
            await intruder.PostAsync($"{existing}/disable", null),
            await intruder.DeleteAsync(existing),
            await intruder.PostAsJsonAsync($"/api/areas/{_area}/export-profiles", NewProfile("planted")),
            // Its own area's URL with the other area's profile id: as if the profile did not exist.
            await intruder.GetAsync($"/api/areas/{other}/export-profiles/{profile.Id}"),
        };

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.NotFound, a.StatusCode));
        Assert.Contains("Area not found.", await answers[0].Content.ReadAsStringAsync());
        var still = await _admin.GetFromJsonAsync<ExportProfileResponse>(existing, Json);
        Assert.Equal(profile.Name, still!.Name);
        Assert.Equal("enabled", still.Status);
    }

    [Fact]
    public async Task No_token_is_401_and_a_role_not_allowed_is_403()
    {
        using var anonymous = _service.CreateClient(token: null);
        using var viewer = Client(Roles.AreaViewer, _area);
        using var gateway = Client(Roles.Ingest, _area);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/areas/{_area}/export-profiles")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/api/areas/{_area}/export-profiles")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/areas/{_area}/export-profiles", NewProfile())).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.GetAsync($"/api/areas/{_area}/export-profiles")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _admin.PostAsJsonAsync("/api/areas", new { name = "not mine to make" })).StatusCode);
    }

    [Fact]
    public async Task Areas_are_created_renamed_and_listed_by_platform_admins_with_unique_names_and_events()
    {
        using var platform = Client(Roles.PlatformAdmin, null);
        var name = $"Area {Guid.NewGuid():N}";
        var id = await CreateAreaAsync(name);
        Assert.Equal(name, (await _events.WaitFor<AreaCreated>(e => e.AreaId == id)).Name);

        using var duplicate = await platform.PostAsJsonAsync("/api/areas", new { name = name.ToUpperInvariant() });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);

        using var renamed = await platform.PutAsJsonAsync($"/api/areas/{id}", new { name = name + " renamed" });
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        Assert.Equal(name + " renamed", (await _events.WaitFor<AreaRenamed>(e => e.AreaId == id)).Name);

        var all = await platform.GetFromJsonAsync<List<AreaResponse>>("/api/areas", Json);
        Assert.Contains(all!, a => a.Id == id && a.Name == name + " renamed");
        var own = await _admin.GetFromJsonAsync<List<AreaResponse>>("/api/areas", Json);
        Assert.Equal([_area], own!.Select(a => a.Id));
    }

    [Fact]
    public async Task The_external_id_and_the_api_keys_of_filters_are_stored_and_announced_sealed_and_shown_whole_to_the_area()
    {
        const string ExternalId = "ext-9f8e7d6c5b4a3921";
        const string ApiKey = "k3y-7f2c9a0e5b1d4c8a";
        var profile = await CreateAsync(new
        {
            name = "Sealed secrets",
            s3Bucket = "calllogs-export/area/exports",
            encryption = new
            {
                enabled = true,
                iamRoleArn = "arn:aws:iam::123456789012:role/Export",
                cmkKeyArn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                iamRoleExternalId = ExternalId,
            },
            collectFrom = DateTimeOffset.UtcNow.AddHours(3),
            filters = new[] { new { field = "apiKey", @operator = "is", value = ApiKey } },
        });
        Assert.Equal(ExternalId, profile.Encryption.IamRoleExternalId);
        Assert.Equal(ApiKey, Assert.Single(profile.Filters).Value);

        var created = await _events.WaitFor<ExportProfileCreated>(e => e.Profile.ProfileId == profile.Id);
        var announced = JsonSerializer.Serialize(created);
        Assert.DoesNotContain(ExternalId, announced);
        Assert.DoesNotContain(ApiKey, announced);
        Assert.Equal(ApiKey, infra.Seal.Open(created.Profile.Filters.Single().Value));
        Assert.Equal(ExternalId, infra.Seal.Open(created.Profile.Encryption!.IamRoleExternalId));

        var database = _service.Configuration["ConnectionStrings:profiledb"]!;
        Assert.NotEmpty(await Sql.TablesHoldingAsync(database, profile.Id.ToString()));   // the search finds what is stored in clear
        Assert.Equal([], await Sql.TablesHoldingAsync(database, ExternalId));
        Assert.Equal([], await Sql.TablesHoldingAsync(database, ApiKey));

        var read = await Client(Roles.AreaViewer, _area).GetFromJsonAsync<ExportProfileResponse>($"/api/areas/{_area}/export-profiles/{profile.Id}", Json);
        Assert.Equal(ExternalId, read!.Encryption.IamRoleExternalId);
        Assert.Equal(ApiKey, Assert.Single(read.Filters).Value);

        // The same filters sent again are no change, though stored sealed.
        using var same = await _admin.PatchAsJsonAsync($"/api/areas/{_area}/export-profiles/{profile.Id}", new { filters = new[] { new { field = "apiKey", @operator = "is", value = ApiKey } } });
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        Assert.Equal(1, (await same.Content.ReadFromJsonAsync<ExportProfileResponse>(Json))!.Version);
    }
}
