using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallLogs.Profile.Apis;
using CallLogs.Profile.Data;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static CallLogs.Export.Tests.ExportTestBed;

namespace CallLogs.Export.Tests;

/// <summary>
/// Two tenants, two buckets, end to end: profiles made through the profile service's API, their events over
/// RabbitMQ to the export service, objects into S3. A tenant's profile only ever writes under its own bucket and
/// prefix, and every way of naming another bucket is refused at the API.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class TwoTenantsTests(Infrastructure infra)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Each_tenants_profile_writes_only_its_own_areas_records_under_its_own_bucket_and_prefix()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        await using var profiles = await ServiceFactory<ProfileDbContext>.StartAsync(infra, "profile",
            new Dictionary<string, string?> { ["ConnectionStrings:messaging"] = bed.Service.Configuration["ConnectionStrings:messaging"] },
            services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(bed.Clock)));
        using var platform = profiles.CreateClient(infra.Tokens.Issue(Roles.PlatformAdmin, null, "root"));
        var (areaA, areaB) = (await CreateAreaAsync(platform, "Tenant A (Paris)"), await CreateAreaAsync(platform, "Tenant B"));
        var (bucketA, bucketB) = (await infra.NewBucketAsync(), await infra.NewBucketAsync());
        using var adminA = profiles.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, areaA, "admin-a"));
        using var adminB = profiles.CreateClient(infra.Tokens.Issue(Roles.AreaAdmin, areaB, "admin-b"));

        foreach (var escape in new[]
        {
            $"{bucketA}/../{bucketB}", $"{bucketA}/tenant-a/../../{bucketB}", $"{bucketA}/./{bucketB}", $"{bucketA}/tenant-a\n",
            $"{bucketA}/tenant-a/%2e%2e/{bucketB}", $"{bucketA}\\..\\{bucketB}", $"s3://{bucketB}", $"{bucketA}//{bucketB}",
        })
        {
            using var refused = await adminA.PostAsJsonAsync($"/api/areas/{areaA}/export-profiles", NewProfile("escape", escape));
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{escape}: {refused.StatusCode}");
            Assert.Contains("s3Bucket", await refused.Content.ReadAsStringAsync());
        }

        var profileA = await CreateProfileAsync(adminA, areaA, $"{bucketA}/tenant-a");
        var profileB = await CreateProfileAsync(adminB, areaB, $"{bucketB}/tenant-b/calls");
        using (var moved = await adminA.PatchAsJsonAsync($"/api/areas/{areaA}/export-profiles/{profileA}", new { s3Bucket = $"{bucketA}/tenant-a/../../{bucketB}" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, moved.StatusCode);
        }

        using (var intrusion = await adminA.PatchAsJsonAsync($"/api/areas/{areaB}/export-profiles/{profileB}", new { s3Bucket = $"{bucketA}/stolen" }))
        {
            Assert.Equal(HttpStatusCode.NotFound, intrusion.StatusCode);
        }

        await Eventually.Until(async () => await bed.CountAsync(db => db.Profiles.CountAsync(p => p.Id == profileA || p.Id == profileB)) == 2
            && await bed.CountAsync(db => db.AreaNames.CountAsync(a => a.AreaId == areaA || a.AreaId == areaB)) == 2, because: "export knows both profiles and areas");
        var recordsA = Enumerable.Range(0, 20).Select(i => Record(Hour0.AddMinutes(i))).ToArray();
        var recordsB = Enumerable.Range(0, 20).Select(i => Record(Hour0.AddMinutes(i))).ToArray();
        await bed.IngestAsync(areaA, recordsA);
        await bed.IngestAsync(areaB, recordsB);
        bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));
        await bed.RunExporterAsync();

        var inA = await bed.BucketObjectsAsync(bucketA);
        var inB = await bed.BucketObjectsAsync(bucketB);
        var keyA = Assert.Single(inA.Keys);
        var keyB = Assert.Single(inB.Keys);
        Assert.StartsWith($"tenant-a/{areaA}/{profileA}/2026/11/20/07/Tenant-A-Paris_{areaA}_", keyA);
        Assert.StartsWith($"tenant-b/calls/{areaB}/{profileB}/2026/11/20/07/Tenant-B_{areaB}_", keyB);
        Assert.Equal(recordsA.Select(r => r.RequestUuid).Order(), inA[keyA].Rows.Skip(1).Select(r => r[0]).Order());
        Assert.Equal(recordsB.Select(r => r.RequestUuid).Order(), inB[keyB].Rows.Skip(1).Select(r => r[0]).Order());
    }

    private static object NewProfile(string name, string bucket) => new
    {
        name, s3Bucket = bucket, collectFrom = Hour0, maskSensitiveData = true, unmaskedCharacters = 2,
    };

    private static async Task<Guid> CreateAreaAsync(HttpClient platform, string name)
    {
        using var response = await platform.PostAsJsonAsync("/api/areas", new { name });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<AreaResponse>(Json))!.Id;
    }

    private static async Task<Guid> CreateProfileAsync(HttpClient admin, Guid area, string bucket)
    {
        using var response = await admin.PostAsJsonAsync($"/api/areas/{area}/export-profiles", NewProfile($"Export of {area}", bucket));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<ExportProfileResponse>(Json))!.Id;
    }
}
