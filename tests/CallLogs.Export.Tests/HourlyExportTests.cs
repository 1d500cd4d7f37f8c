using System.Security.Cryptography;
using System.Text;
using Amazon.S3.Model;
using CallLogs.Contracts;
using CallLogs.Export.Data;
using CallLogs.Export.Exporting;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static CallLogs.Export.Tests.ExportTestBed;

namespace CallLogs.Export.Tests;

/// <summary>Hour by hour into a real S3 server, from real RabbitMQ and PostgreSQL, with an injected clock.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class HourlyExportTests(Infrastructure infra) : IAsyncLifetime
{
    private ExportTestBed _bed = null!;

    public async Task InitializeAsync() => _bed = await ExportTestBed.StartAsync(infra);

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    [Fact]
    public async Task A_closed_hour_becomes_one_masked_filtered_gzip_csv_and_late_records_a_further_object_each_record_exactly_once()
    {
        var profile = await _bed.CreateProfileAsync([new ExportFilter { Field = FilterField.ApiKey, Operator = FilterOperator.Is, Value = "0123456789" }], mask: true, keep: 3);
        var inHour = Enumerable.Range(0, 5).Select(i => Record(Hour0.AddMinutes(i * 11), key: "0123456789")).ToList();
        var filteredOut = Record(Hour0.AddMinutes(3), key: "other-key");
        var nextHour = Record(Hour0.AddHours(1).AddMinutes(1), key: "0123456789");
        var beforeStart = Record(Hour0.AddMinutes(-1), key: "0123456789");
        await _bed.IngestAsync([.. inHour, filteredOut, nextHour, beforeStart]);

        _bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(4)); // the hour has ended, the grace has not
        await _bed.RunExporterAsync();
        Assert.Empty(await _bed.ObjectsAsync(profile));

        _bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(5).AddSeconds(1));
        await _bed.RunExporterAsync();
        var first = await Eventually.Get(() => _bed.ObjectsAsync(profile), o => o.Count == 1);
        var (key, (metadata, rows, text)) = Assert.Single(first);
        Assert.Contains($"/2026/11/20/07/Test-Area_{_bed.Area}_20261120T070000Z_20261120T080000Z_20261120T080501Z_{profile}.csv.gz", key);
        Assert.Equal(CallRecordFields.Names, rows[0]);
        Assert.Equal(inHour.Select(r => r.RequestUuid), rows.Skip(1).Select(r => r[0]));
        Assert.All(rows.Skip(1), r => Assert.Equal("012****789", r[3]));
        Assert.All(rows.Skip(1), r => Assert.Equal("Weather, \"v2\"", r[7]));
        Assert.Equal("5", metadata["x-amz-meta-record-count"]);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant(), metadata["x-amz-meta-sha256"]);

        // A record of 07:00-08:00 arriving late, and a retry of an already exported one (redelivery): one more object, the late record only.
        var late = Record(Hour0.AddMinutes(59), key: "0123456789");
        _bed.Clock.SetUtcNow(Hour0.AddHours(3));
        await _bed.IngestAsync(late, inHour[0]);
        await _bed.RunExporterAsync();
        var all = await Eventually.Get(() => _bed.ObjectsAsync(profile), o => o.Count == 3);
        var hour0 = all.Where(o => o.Key.Contains("/2026/11/20/07/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, hour0.Count);
        var exported = all.SelectMany(o => o.Value.Rows.Skip(1)).Select(r => r[0]).ToList();
        Assert.Equal(exported.Distinct().Count(), exported.Count);
        Assert.Equal(inHour.Append(late).Append(nextHour).Select(r => r.RequestUuid).Order(), exported.Order());
        Assert.DoesNotContain(filteredOut.RequestUuid, exported);
        Assert.DoesNotContain(beforeStart.RequestUuid, exported);

        var status = await _bed.StatusAsync(profile);
        Assert.Equal(Hour0.AddHours(1), status.LastHourExported);
        Assert.Equal(0, status.HoursPending);
        Assert.Null(status.LastError);
    }

    [Fact]
    public async Task Late_records_reach_every_profile_of_their_area_in_one_pass_each_through_its_own_filters()
    {
        var everything = await _bed.CreateProfileAsync([]);
        var keyed = await _bed.CreateProfileAsync([new ExportFilter { Field = FilterField.ApiKey, Operator = FilterOperator.Is, Value = "0123456789" }]);
        var onTime = Record(Hour0.AddMinutes(5), key: "0123456789");
        await _bed.IngestAsync(onTime);
        _bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));
        await _bed.RunExporterAsync();

        // Both profiles read which hours the area's new records are in from one query of the pass; each keeps its own.
        var matching = Record(Hour0.AddMinutes(10), key: "0123456789");
        var other = Record(Hour0.AddMinutes(20), key: "other-key");
        await _bed.IngestAsync(matching, other);
        await _bed.RunExporterAsync();

        Assert.Equal(new[] { onTime, matching, other }.Select(r => r.RequestUuid).Order(), (await _bed.ExportedUuidsAsync(everything)).Order());
        Assert.Equal(new[] { onTime, matching }.Select(r => r.RequestUuid).Order(), (await _bed.ExportedUuidsAsync(keyed)).Order());
        Assert.Equal(2, (await _bed.ObjectsAsync(keyed)).Count);
    }

    [Fact]
    public async Task Profiles_of_one_area_written_from_one_read_get_their_own_ranges_filters_and_masking_and_a_failing_one_holds_back_no_other()
    {
        var masked = await _bed.CreateProfileAsync(mask: true, keep: 3);
        var errors = await _bed.CreateProfileAsync([new ExportFilter { Field = FilterField.ResponseCode, Operator = FilterOperator.Is, Value = "500" }]);
        var first = Enumerable.Range(0, 30).Select(i => Record(Hour0.AddMinutes(i), key: "0123456789", code: i % 3 == 0 ? 500 : 200)).ToList();
        await _bed.IngestAsync([.. first]);
        _bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));
        await _bed.RunExporterAsync();

        // One pass then has a further object for each of the first two profiles (the late records only) and a first
        // object for each of two new ones (everything): four objects of one area and hour with two different ranges.
        var late = Enumerable.Range(30, 30).Select(i => Record(Hour0.AddMinutes(i), key: "0123456789", code: i % 3 == 0 ? 500 : 200)).ToList();
        await _bed.IngestAsync([.. late]);
        var plain = await _bed.CreateProfileAsync();
        var unwritable = await _bed.CreateProfileAsync(_bed.Profile() with { S3Bucket = $"missing-{Guid.NewGuid():N}"[..30] });
        await _bed.RunExporterAsync();

        var all = first.Concat(late).ToList();
        var maskedObjects = await Eventually.Get(() => _bed.ObjectsAsync(masked), o => o.Count == 2);
        Assert.Equal(all.Select(r => r.RequestUuid).Order(), maskedObjects.Values.SelectMany(o => o.Rows.Skip(1)).Select(r => r[0]).Order());
        Assert.All(maskedObjects.Values.SelectMany(o => o.Rows.Skip(1)), r => Assert.Equal("012****789", r[3]));
        Assert.Equal(all.Where(r => r.HttpStatusCode == 500).Select(r => r.RequestUuid).Order(), (await _bed.ExportedUuidsAsync(errors)).Order());
        Assert.Equal(2, (await _bed.ObjectsAsync(errors)).Count);
        var (_, (_, plainRows, _)) = Assert.Single(await _bed.ObjectsAsync(plain));
        Assert.Equal(all.Select(r => r.RequestUuid), plainRows.Skip(1).Select(r => r[0]));
        Assert.All(plainRows.Skip(1), r => Assert.Equal("0123456789", r[3]));
        var status = await _bed.StatusAsync(unwritable);
        Assert.Equal(1, status.HoursPending);
        Assert.NotNull(status.LastError);
    }

    [Fact]
    public async Task Two_export_instances_at_once_and_a_crash_between_upload_and_bookkeeping_still_give_each_record_exactly_once()
    {
        var profile = await _bed.CreateProfileAsync([]);
        var records = Enumerable.Range(0, 300).Select(i => Record(Hour0.AddSeconds(i * 7))).ToList();
        await _bed.IngestAsync([.. records]);
        _bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));

        await using var second = await _bed.StartSecondInstanceAsync();
        var secondExporter = second.Services.GetRequiredService<HourlyExporter>();
        await Task.WhenAll(_bed.RunExporterAsync(), secondExporter.RunOnceAsync(CancellationToken.None), _bed.RunExporterAsync(), secondExporter.RunOnceAsync(CancellationToken.None));
        var before = await _bed.ObjectsAsync(profile);
        Assert.Single(before);

        // As if the service died after the upload but before marking it: the object is pending again and is rewritten.
        await using (var scope = _bed.Service.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ExportDbContext>();
            await db.Objects.Where(o => o.ProfileId == profile).ExecuteUpdateAsync(u => u.SetProperty(o => o.Uploaded, false));
        }

        await _bed.RunExporterAsync();
        await Eventually.Until(async () => await _bed.CountAsync(db => db.Objects.CountAsync(o => o.ProfileId == profile && o.Uploaded)) == 1);
        var after = await _bed.ObjectsAsync(profile);

        Assert.Single(after);
        Assert.Equal(before.Single().Key, after.Single().Key);
        Assert.Equal(before.Single().Value.Text, after.Single().Value.Text);
        var exported = after.Single().Value.Rows.Skip(1).Select(r => r[0]).ToList();
        Assert.Equal(records.Select(r => r.RequestUuid).Order(), exported.Order());
    }

    [Fact]
    public async Task Records_staged_while_two_instances_keep_planning_land_each_in_exactly_one_object()
    {
        var profile = await _bed.CreateProfileAsync();
        _bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6)); // the hour is closed: everything below arrives late
        await using var second = await _bed.StartSecondInstanceAsync();
        var secondExporter = second.Services.GetRequiredService<HourlyExporter>();
        var records = Enumerable.Range(0, 2_000).Select(i => Record(Hour0.AddSeconds(i))).ToList();

        var publishing = Task.Run(async () =>
        {
            foreach (var batch in records.Chunk(50))
            {
                await _bed.Bus.Publish(new CallRecordsIngested { BatchId = Guid.NewGuid(), AreaId = _bed.Area, AcceptedAt = _bed.Clock.GetUtcNow(), Records = batch });
            }
        });
        while (!publishing.IsCompleted || await _bed.CountAsync(db => db.StagedRecords.CountAsync()) < records.Count)
        {
            _bed.Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAll(_bed.RunExporterAsync(), secondExporter.RunOnceAsync(CancellationToken.None));
        }

        await publishing;
        await _bed.RunExporterAsync();
        var exported = await _bed.ExportedUuidsAsync(profile);
        Assert.Equal(records.Count, exported.Count);
        Assert.Equal(records.Select(r => r.RequestUuid).Order(), exported.Order());
        Assert.True(await _bed.CountAsync(db => db.Objects.CountAsync(o => o.ProfileId == profile)) > 2, "the records should have arrived over several passes");
    }

    [Fact]
    public async Task A_missing_bucket_is_retried_and_shown_in_the_status_then_exported_once_it_exists()
    {
        var missing = $"missing-{Guid.NewGuid():N}"[..30];
        var id = await _bed.CreateProfileAsync(_bed.Profile() with { S3Bucket = missing });
        var record = Record(Hour0.AddMinutes(10));
        await _bed.IngestAsync(record);
        _bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));
        await _bed.RunExporterAsync();

        var status = await Eventually.Get(() => _bed.StatusAsync(id), s => s.LastError is not null);
        Assert.Equal(1, status.HoursPending);
        Assert.NotNull(status.LastError);

        using var s3 = infra.CreateS3Client();
        await s3.PutBucketAsync(missing);
        _bed.Clock.Advance(TimeSpan.FromMinutes(10));
        await _bed.RunExporterAsync();
        var listed = await Eventually.Get(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = missing }), l => l.S3Objects is { Count: > 0 });
        Assert.Single(listed.S3Objects);
    }
}
