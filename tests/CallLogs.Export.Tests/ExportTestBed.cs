using System.IO.Compression;
using System.Net.Http.Json;
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
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CallLogs.Export.Tests;

/// <summary>
/// One export service on real RabbitMQ, PostgreSQL and S3 with an injected clock that starts half an hour before
/// <see cref="Hour0"/>. The service's background pass does not run (a clock jump would start it beside the test's
/// own): tests run passes themselves, several at once where that is the point.
/// </summary>
public sealed class ExportTestBed : IAsyncDisposable
{
    public static readonly DateTimeOffset Hour0 = new(2026, 11, 20, 7, 0, 0, TimeSpan.Zero);

    private ExportTestBed(Infrastructure infra) => Infra = infra;

    public Infrastructure Infra { get; }
    public FakeTimeProvider Clock { get; } = new(Hour0.AddMinutes(-30));
    public Guid Area { get; } = Guid.NewGuid();
    public const string AreaName = "Test Area";
    public string Bucket { get; private set; } = "";
    public ServiceFactory<ExportDbContext> Service { get; private set; } = null!;
    public EventCollector Bus { get; private set; } = null!;
    public LogSink Logs { get; } = new();

    public static async Task<ExportTestBed> StartAsync(Infrastructure infra, IDictionary<string, string?>? settings = null)
    {
        var bed = new ExportTestBed(infra) { Bucket = await infra.NewBucketAsync() };
        var overrides = new Dictionary<string, string?> { ["Export:PollInterval"] = "01:00:00" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            overrides[key] = value;
        }

        bed.Service = await ServiceFactory<ExportDbContext>.StartAsync(infra, "export", overrides, services =>
        {
            WithClockAndNoBackgroundPass(services, bed.Clock);
            services.AddSingleton<ILoggerProvider>(bed.Logs);
        });
        bed.Bus = await EventCollector.StartAsync(bed.Service.Configuration["ConnectionStrings:messaging"]!);
        return bed;
    }

    /// <summary>A second export instance on the same database and broker (its background pass off too).</summary>
    public Task<ServiceFactory<ExportDbContext>> StartSecondInstanceAsync() =>
        ServiceFactory<ExportDbContext>.StartAsync(Infra, "export",
            new Dictionary<string, string?>
            {
                ["ConnectionStrings:exportdb"] = Service.Configuration["ConnectionStrings:exportdb"],
                ["ConnectionStrings:messaging"] = Service.Configuration["ConnectionStrings:messaging"],
            },
            services => WithClockAndNoBackgroundPass(services, Clock));

    private static void WithClockAndNoBackgroundPass(IServiceCollection services, TimeProvider clock)
    {
        services.Replace(ServiceDescriptor.Singleton(clock));
        foreach (var loop in services.Where(d => d.ServiceType == typeof(IHostedService)
            && d.ImplementationFactory?.Method.DeclaringType?.Assembly == typeof(HourlyExporter).Assembly).ToList())
        {
            services.Remove(loop);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Bus.DisposeAsync();
        await Service.DisposeAsync();
    }

    public ExportProfileSnapshot Profile(IReadOnlyList<ExportFilter>? filters = null, bool mask = false, int keep = 0, string path = "exports") => new()
    {
        ProfileId = Guid.NewGuid(), AreaId = Area, AreaName = AreaName, Name = "p", S3Bucket = $"{Bucket}/{path}", MaskSensitiveData = mask, UnmaskedCharacters = keep,
        CollectFrom = Hour0, Filters = filters ?? [], Enabled = true, Version = 1, UpdatedAt = Clock.GetUtcNow(),
    };

    /// <summary>Publishes a profile event and waits until the export service has this version of it.</summary>
    public async Task<Guid> ApplyAsync<T>(T message, ExportProfileSnapshot profile) where T : class
    {
        await Bus.Publish(message);
        await Eventually.Until(async () => await CountAsync(db => db.Profiles.CountAsync(p => p.Id == profile.ProfileId && p.Version == profile.Version)) == 1);
        return profile.ProfileId;
    }

    public Task<Guid> CreateProfileAsync(IReadOnlyList<ExportFilter>? filters = null, bool mask = false, int keep = 0) =>
        CreateProfileAsync(Profile(filters, mask, keep));

    /// <summary>Creates the profile as the profile service sends it: the API keys of its filters and its external id sealed.</summary>
    public Task<Guid> CreateProfileAsync(ExportProfileSnapshot profile)
    {
        var seal = Infra.Seal;
        var sent = profile with
        {
            Filters = [.. profile.Filters.Select(f => f.Field == FilterField.ApiKey ? f with { Value = seal.Seal(f.Value) } : f)],
            Encryption = profile.Encryption is { } e ? e with { IamRoleExternalId = seal.Seal(e.IamRoleExternalId) } : null,
        };
        return ApplyAsync(new ExportProfileCreated { Profile = sent }, sent);
    }

    public Task<int> CountAsync(Func<ExportDbContext, Task<int>> count) => QueryAsync(count);

    public async Task<T> QueryAsync<T>(Func<ExportDbContext, Task<T>> query)
    {
        await using var scope = Service.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<ExportDbContext>());
    }

    /// <summary>Publishes the records as one ingested batch and waits until they are staged.</summary>
    public Task IngestAsync(params CallRecord[] records) => IngestAsync(Area, records);

    /// <summary>
    /// Publishes the records as one ingested batch of <paramref name="area"/>, their secrets sealed as ingest seals them,
    /// and waits until they are staged.
    /// </summary>
    public async Task IngestAsync(Guid area, params CallRecord[] records)
    {
        var seal = Infra.Seal;
        await Bus.Publish(new CallRecordsIngested { BatchId = Guid.NewGuid(), AreaId = area, AcceptedAt = Clock.GetUtcNow(), Records = [.. records.Select(seal.Seal)] });
        var uuids = records.Select(r => r.RequestUuid).ToList();
        await Eventually.Until(async () => await CountAsync(db => db.StagedRecords.CountAsync(s => uuids.Contains(s.RequestUuid))) == records.Length);
    }

    public static CallRecord Record(DateTimeOffset time, string key = "k1", int code = 200, string service = "Weather, \"v2\"", string serviceId = "svc-1") => new()
    {
        RequestUuid = Guid.NewGuid().ToString(),
        RequestTime = time,
        ApiKey = key,
        OauthAccessToken = "-",
        ServiceName = service,
        ServiceId = serviceId,
        HttpStatusCode = code,
        IngestionTime = 1,
    };

    public Task RunExporterAsync() => Service.Services.GetRequiredService<HourlyExporter>().RunOnceAsync(CancellationToken.None);

    public async Task<ExportStatusApi.ProfileExportStatus> StatusAsync(Guid profile)
    {
        using var viewer = Service.CreateClient(Infra.Tokens.Issue(Roles.AreaViewer, Area, "viewer"));
        return (await viewer.GetFromJsonAsync<ExportStatusApi.ProfileExportStatus>($"/api/areas/{Area}/export-profiles/{profile}/export-status",
            new JsonSerializerOptions(JsonSerializerDefaults.Web)))!;
    }

    /// <summary>Every object under the profile: key → (metadata, CSV rows as field arrays, raw CSV text).</summary>
    public Task<Dictionary<string, ExportedObject>> ObjectsAsync(Guid profile, string path = "exports") =>
        BucketObjectsAsync(Bucket, $"{path}/{Area}/{profile}/");

    /// <summary>Every object of a bucket under a prefix (all of them without one).</summary>
    public async Task<Dictionary<string, ExportedObject>> BucketObjectsAsync(string bucket, string prefix = "")
    {
        using var s3 = Infra.CreateS3Client();
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix });
        var objects = new Dictionary<string, ExportedObject>();
        foreach (var item in listed.S3Objects ?? [])
        {
            using var response = await s3.GetObjectAsync(bucket, item.Key);
            await using var gzip = new GZipStream(response.ResponseStream, CompressionMode.Decompress);
            using var reader = new StreamReader(gzip, Encoding.UTF8);
            var text = await reader.ReadToEndAsync();
            objects[item.Key] = new ExportedObject(response.Metadata, CsvText.Parse(text), text);
        }

        return objects;
    }

    /// <summary>The request ids in all objects of the profile, one entry per row (duplicates stay visible).</summary>
    public async Task<List<string>> ExportedUuidsAsync(Guid profile) =>
        [.. (await ObjectsAsync(profile)).Values.SelectMany(o => o.Rows.Skip(1)).Select(r => r[0])];
}

public sealed record ExportedObject(MetadataCollection Metadata, List<string[]> Rows, string Text);
