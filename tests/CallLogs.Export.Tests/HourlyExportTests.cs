using System.IO.Compression;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.S3.Model;
using CallLogs.Contracts;
using CallLogs.Export.Apis;
using CallLogs.Export.Data;
using CallLogs.Export.Exporting;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace CallLogs.Export.Tests;

/// <summary>Hour by hour into a real S3 server, from real RabbitMQ and PostgreSQL, with an injected clock.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class HourlyExportTests(Infrastructure infra) : IAsyncLifetime
{
    private static readonly DateTimeOffset Hour0 = new(2026, 11, 20, 7, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(Hour0.AddMinutes(-30));
    private readonly Guid _area = Guid.NewGuid();
    private ServiceFactory<ExportDbContext> _service = null!;
    private EventCollector _bus = null!;
    private string _bucket = "";

    public async Task InitializeAsync()
    {
        _bucket = await infra.NewBucketAsync();
        _service = await ServiceFactory<ExportDbContext>.StartAsync(infra, "export",
            new Dictionary<string, string?> { ["Export:PollInterval"] = "01:00:00" },
            services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock)));
        _bus = await EventCollector.StartAsync(_service.Configuration["ConnectionStrings:messaging"]!);
    }

    public async Task DisposeAsync()
    {
        await _bus.DisposeAsync();
        await _service.DisposeAsync();
    }

    private async Task<Guid> CreateProfileAsync(IReadOnlyList<ExportFilter> filters, bool mask = false, int keep = 0, string path = "exports")
    {
        var id = Guid.NewGuid();
        await _bus.Publish(new ExportProfileCreated
        {
            Profile = new ExportProfileSnapshot
            {
                ProfileId = id, AreaId = _area, Name = "p", S3Bucket = $"{_bucket}/{path}", MaskSensitiveData = mask, UnmaskedCharacters = keep,
                CollectFrom = Hour0, Filters = filters, Enabled = true, Version = 1, UpdatedAt = _clock.GetUtcNow(),
            },
        });
        await Eventually.Until(async () => await CountAsync(db => db.Profiles.CountAsync(p => p.Id == id)) == 1);
        return id;
    }

    private async Task<int> CountAsync(Func<ExportDbContext, Task<int>> count)
    {
        await using var scope = _service.Services.CreateAsyncScope();
        return await count(scope.ServiceProvider.GetRequiredService<ExportDbContext>());
    }

    private async Task IngestAsync(params CallRecord[] records)
    {
        await _bus.Publish(new CallRecordsIngested { BatchId = Guid.NewGuid(), AreaId = _area, AcceptedAt = _clock.GetUtcNow(), Records = records });
        var uuids = records.Select(r => r.RequestUuid).ToList();
        await Eventually.Until(async () => await CountAsync(db => db.StagedRecords.CountAsync(s => uuids.Contains(s.RequestUuid))) == records.Length);
    }

    private static CallRecord Record(DateTimeOffset time, string key = "k1", int code = 200) => new()
    {
        RequestUuid = Guid.NewGuid().ToString(),
        RequestTime = time,
        ApiKey = key,
        OauthAccessToken = "-",
        ServiceName = "Weather, \"v2\"",
        HttpStatusCode = code,
        IngestionTime = 1,
    };

    private Task RunExporterAsync() => _service.Services.GetRequiredService<HourlyExporter>().RunOnceAsync(CancellationToken.None);

    /// <summary>Every object under the profile: key → (metadata, CSV rows as field arrays, raw CSV text).</summary>
    private async Task<Dictionary<string, (MetadataCollection Metadata, List<string[]> Rows, string Text)>> ObjectsAsync(Guid profile)
    {
        using var s3 = infra.CreateS3Client();
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = $"exports/{_area}/{profile}/" });
        var objects = new Dictionary<string, (MetadataCollection, List<string[]>, string)>();
        foreach (var item in listed.S3Objects ?? [])
        {
            using var response = await s3.GetObjectAsync(_bucket, item.Key);
            await using var gzip = new GZipStream(response.ResponseStream, CompressionMode.Decompress);
            using var reader = new StreamReader(gzip, Encoding.UTF8);
            var text = await reader.ReadToEndAsync();
            objects[item.Key] = (response.Metadata, ParseCsv(text), text);
        }

        return objects;
    }

    private static List<string[]> ParseCsv(string text)
    {
        var rows = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') { quoted = false; }
                else { field.Append(c); }
            }
            else if (c == '"') { quoted = true; }
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                fields.Add(field.ToString()); field.Clear(); rows.Add([.. fields]); fields.Clear(); i++;
            }
            else { field.Append(c); }
        }

        return rows;
    }

    [Fact]
    public async Task A_closed_hour_becomes_one_masked_filtered_gzip_csv_and_late_records_a_further_object_each_record_exactly_once()
    {
        var profile = await CreateProfileAsync([new ExportFilter { Field = FilterField.ApiKey, Operator = FilterOperator.Is, Value = "0123456789" }], mask: true, keep: 3);
        var inHour = Enumerable.Range(0, 5).Select(i => Record(Hour0.AddMinutes(i * 11), key: "0123456789")).ToList();
        var filteredOut = Record(Hour0.AddMinutes(3), key: "other-key");
        var nextHour = Record(Hour0.AddHours(1).AddMinutes(1), key: "0123456789");
        var beforeStart = Record(Hour0.AddMinutes(-1), key: "0123456789");
        await IngestAsync([.. inHour, filteredOut, nextHour, beforeStart]);

        _clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(4)); // the hour has ended, the grace has not
        await RunExporterAsync();
        Assert.Empty(await ObjectsAsync(profile));

        _clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(5).AddSeconds(1));
        await RunExporterAsync();
        var first = await Eventually.Get(() => ObjectsAsync(profile), o => o.Count == 1);
        var (key, (metadata, rows, text)) = Assert.Single(first);
        Assert.Contains($"/2026/11/20/07/{_area}_20261120T070000Z_20261120T080000Z_20261120T080501Z_{profile}.csv.gz", key);
        Assert.Equal(CallRecordFields.Names, rows[0]);
        Assert.Equal(inHour.Select(r => r.RequestUuid), rows.Skip(1).Select(r => r[0]));
        Assert.All(rows.Skip(1), r => Assert.Equal("012****789", r[3]));
        Assert.All(rows.Skip(1), r => Assert.Equal("Weather, \"v2\"", r[7]));
        Assert.Equal("5", metadata["x-amz-meta-record-count"]);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant(), metadata["x-amz-meta-sha256"]);

        // A record of 07:00-08:00 arriving late, and a retry of an already exported one (redelivery): one more object, the late record only.
        var late = Record(Hour0.AddMinutes(59), key: "0123456789");
        _clock.SetUtcNow(Hour0.AddHours(3));
        await IngestAsync(late, inHour[0]);
        await RunExporterAsync();
        var all = await Eventually.Get(() => ObjectsAsync(profile), o => o.Count == 3);
        var hour0 = all.Where(o => o.Key.Contains("/2026/11/20/07/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, hour0.Count);
        var exported = all.SelectMany(o => o.Value.Rows.Skip(1)).Select(r => r[0]).ToList();
        Assert.Equal(exported.Distinct().Count(), exported.Count);
        Assert.Equal(inHour.Append(late).Append(nextHour).Select(r => r.RequestUuid).Order(), exported.Order());
        Assert.DoesNotContain(filteredOut.RequestUuid, exported);
        Assert.DoesNotContain(beforeStart.RequestUuid, exported);

        using var viewer = _service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, _area, "viewer"));
        var status = await viewer.GetFromJsonAsync<ExportStatusApi.ProfileExportStatus>($"/api/areas/{_area}/export-profiles/{profile}/export-status",
            new JsonSerializerOptions(JsonSerializerDefaults.Web));
        Assert.Equal(Hour0.AddHours(1), status!.LastHourExported);
        Assert.Equal(0, status.HoursPending);
        Assert.Null(status.LastError);
    }

    [Fact]
    public async Task Two_exporters_at_once_and_a_crash_between_upload_and_bookkeeping_still_give_each_record_exactly_once()
    {
        var profile = await CreateProfileAsync([]);
        var records = Enumerable.Range(0, 300).Select(i => Record(Hour0.AddSeconds(i * 7))).ToList();
        await IngestAsync([.. records]);
        _clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));

        await Task.WhenAll(RunExporterAsync(), RunExporterAsync(), RunExporterAsync());
        // The service's own background pass runs too when the clock moves: four exporters at once.
        var before = await Eventually.Get(() => ObjectsAsync(profile), o => o.Count == 1);

        // As if the service died after the upload but before marking it: the object is pending again and is rewritten.
        await using (var scope = _service.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ExportDbContext>();
            await db.Objects.Where(o => o.ProfileId == profile).ExecuteUpdateAsync(u => u.SetProperty(o => o.Uploaded, false));
        }

        await RunExporterAsync();
        await Eventually.Until(async () => await CountAsync(db => db.Objects.CountAsync(o => o.ProfileId == profile && o.Uploaded)) == 1);
        var after = await ObjectsAsync(profile);

        Assert.Single(after);
        Assert.Equal(before.Single().Key, after.Single().Key);
        Assert.Equal(before.Single().Value.Text, after.Single().Value.Text);
        var exported = after.Single().Value.Rows.Skip(1).Select(r => r[0]).ToList();
        Assert.Equal(records.Select(r => r.RequestUuid).Order(), exported.Order());
    }

    [Fact]
    public async Task A_missing_bucket_is_retried_and_shown_in_the_status_then_exported_once_it_exists()
    {
        var missing = $"missing-{Guid.NewGuid():N}"[..30];
        var id = Guid.NewGuid();
        await _bus.Publish(new ExportProfileCreated
        {
            Profile = new ExportProfileSnapshot
            {
                ProfileId = id, AreaId = _area, Name = "p", S3Bucket = missing, MaskSensitiveData = false, UnmaskedCharacters = 0,
                CollectFrom = Hour0, Filters = [], Enabled = true, Version = 1, UpdatedAt = _clock.GetUtcNow(),
            },
        });
        await Eventually.Until(async () => await CountAsync(db => db.Profiles.CountAsync(p => p.Id == id)) == 1);
        var record = Record(Hour0.AddMinutes(10));
        await IngestAsync(record);
        _clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));
        await RunExporterAsync();

        using var viewer = _service.CreateClient(infra.Tokens.Issue(Roles.AreaViewer, _area, "viewer"));
        var status = await Eventually.Get(() => viewer.GetFromJsonAsync<ExportStatusApi.ProfileExportStatus>($"/api/areas/{_area}/export-profiles/{id}/export-status",
            new JsonSerializerOptions(JsonSerializerDefaults.Web)), s => s!.LastError is not null);
        Assert.Equal(1, status!.HoursPending);
        Assert.NotNull(status.LastError);

        using var s3 = infra.CreateS3Client();
        await s3.PutBucketAsync(missing);
        _clock.Advance(TimeSpan.FromMinutes(10));
        await RunExporterAsync();
        var listed = await Eventually.Get(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = missing }), l => l.S3Objects is { Count: > 0 });
        Assert.Single(listed.S3Objects);
    }
}
