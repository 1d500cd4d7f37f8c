using CallLogs.Contracts;
using CallLogs.Export.Data;
using CallLogs.Export.Exporting;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static CallLogs.Export.Tests.ExportTestBed;

namespace CallLogs.Export.Tests;

/// <summary>
/// Planning with several instances, and an upload loop and a cleanup that nothing can stop: skewed safe marks, an
/// object failing for any reason, deleted profiles, objects that never get written, hours lost to lateness.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class ExportReliabilityTests(Infrastructure infra)
{
    private static DateTimeOffset HourClosed(int hour) => Hour0.AddHours(hour + 1).AddMinutes(6);

    private static async Task<long> SafeMarkAsync(ServiceFactory<ExportDbContext> service) =>
        await StagingSequence.SafeHighAsync(service.Services.GetRequiredService<NpgsqlDataSource>(), CancellationToken.None);

    private static async Task<int> PlanAsync(ServiceFactory<ExportDbContext> service, Guid profile, long mark)
    {
        await using var scope = service.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<HourPlanner>().PlanAsync(profile, mark, new StagedHours(), CancellationToken.None);
    }

    [Fact]
    public async Task An_instance_that_read_an_older_safe_mark_than_another_still_cuts_above_everything_the_other_covered()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        await using var second = await bed.StartSecondInstanceAsync();
        var profile = await bed.CreateProfileAsync();
        var early = Enumerable.Range(0, 10).Select(i => Record(Hour0.AddMinutes(i))).ToArray();
        var later = Enumerable.Range(0, 10).Select(i => Record(Hour0.AddMinutes(30 + i))).ToArray();
        await bed.IngestAsync(early);
        var olderMark = await SafeMarkAsync(bed.Service); // the first instance reads its mark, then stalls
        await bed.IngestAsync(later);
        var newerMark = await SafeMarkAsync(second);
        Assert.True(newerMark > olderMark);

        bed.Clock.SetUtcNow(Hour0.AddMinutes(50)); // the second instance plans while the hour is still open: nothing yet, but it has seen everything
        Assert.Equal(0, await PlanAsync(second, profile, newerMark));
        bed.Clock.SetUtcNow(HourClosed(0)); // the first instance wakes up with its older mark once the hour has closed
        Assert.Equal(1, await PlanAsync(bed.Service, profile, olderMark));

        var planned = await bed.QueryAsync(db => db.Objects.AsNoTracking().SingleAsync(o => o.ProfileId == profile));
        Assert.Equal((0L, newerMark), (planned.SeqFrom, planned.SeqTo));
        await bed.RunExporterAsync();
        Assert.Equal(early.Concat(later).Select(r => r.RequestUuid).Order(), (await bed.ExportedUuidsAsync(profile)).Order());
    }

    [Fact]
    public async Task Late_records_planned_by_two_instances_with_randomly_stale_marks_land_each_in_exactly_one_object()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        await using var second = await bed.StartSecondInstanceAsync();
        var profile = await bed.CreateProfileAsync();
        bed.Clock.SetUtcNow(HourClosed(0));
        var random = new Random(7);
        var marks = new List<long> { 0 };
        var records = new List<CallRecord>();
        for (var round = 0; round < 12; round++)
        {
            var batch = Enumerable.Range(0, 5).Select(i => Record(Hour0.AddMinutes(round * 5 + i))).ToArray();
            records.AddRange(batch);
            await bed.IngestAsync(batch);
            marks.Add(await SafeMarkAsync(bed.Service));
            bed.Clock.Advance(TimeSpan.FromSeconds(1));
            // Each instance plans with a mark read at some earlier time, the two at once.
            await Task.WhenAll(PlanAsync(bed.Service, profile, marks[random.Next(marks.Count)]), PlanAsync(second, profile, marks[random.Next(marks.Count)]));
        }

        await PlanAsync(bed.Service, profile, await SafeMarkAsync(bed.Service));
        await bed.RunExporterAsync();
        var exported = await bed.ExportedUuidsAsync(profile);
        Assert.Equal(records.Select(r => r.RequestUuid).Order(), exported.Order());
        var ranges = await bed.QueryAsync(db => db.Objects.AsNoTracking().Where(o => o.ProfileId == profile).OrderBy(o => o.Id).Select(o => new { o.SeqFrom, o.SeqTo }).ToListAsync());
        Assert.All(ranges.Zip(ranges.Skip(1)), pair => Assert.Equal(pair.First.SeqTo, pair.Second.SeqFrom)); // consecutive, never overlapping
    }

    [Fact]
    public async Task An_object_failing_for_an_unexpected_reason_waits_its_own_backoff_while_the_others_are_written()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        var failing = await bed.CreateProfileAsync();
        var others = new[] { await bed.CreateProfileAsync(), await bed.CreateProfileAsync() };
        await bed.IngestAsync(Record(Hour0.AddMinutes(1)), Record(Hour0.AddMinutes(2)));
        bed.Clock.SetUtcNow(HourClosed(0));
        foreach (var profile in others.Prepend(failing))
        {
            await PlanAsync(bed.Service, profile, await SafeMarkAsync(bed.Service));
        }

        // The failing profile's object is the oldest, so it is the first due; its snapshot is now unreadable (no S3 error at all).
        var good = await bed.QueryAsync(db => db.Profiles.Where(p => p.Id == failing).Select(p => p.Snapshot).SingleAsync());
        await bed.QueryAsync(db => db.Profiles.Where(p => p.Id == failing).ExecuteUpdateAsync(u => u.SetProperty(p => p.Snapshot, """{"profileId":"not a guid"}""")));
        await bed.RunExporterAsync();

        foreach (var id in others)
        {
            Assert.Equal(1, await bed.CountAsync(db => db.Objects.CountAsync(o => o.ProfileId == id && o.Uploaded)));
        }

        var stuck = await bed.QueryAsync(db => db.Objects.AsNoTracking().SingleAsync(o => o.ProfileId == failing));
        Assert.Equal((false, 1), (stuck.Uploaded, stuck.Attempts));
        Assert.StartsWith("JsonException", stuck.LastError);
        Assert.Equal(HourClosed(0) + ObjectUploader.Backoff(1), stuck.NextAttemptAt);

        await bed.RunExporterAsync(); // not due yet: not tried again
        Assert.Equal(1, (await bed.QueryAsync(db => db.Objects.AsNoTracking().SingleAsync(o => o.ProfileId == failing))).Attempts);
        bed.Clock.Advance(ObjectUploader.Backoff(1));
        await bed.RunExporterAsync();
        Assert.Equal(2, (await bed.QueryAsync(db => db.Objects.AsNoTracking().SingleAsync(o => o.ProfileId == failing))).Attempts);

        await bed.QueryAsync(db => db.Profiles.Where(p => p.Id == failing).ExecuteUpdateAsync(u => u.SetProperty(p => p.Snapshot, good)));
        bed.Clock.Advance(ObjectUploader.Backoff(2));
        await bed.RunExporterAsync();
        Assert.Equal(2, (await bed.ExportedUuidsAsync(failing)).Count);
    }

    [Fact]
    public async Task A_failing_upload_is_retried_with_the_file_built_the_first_time_and_shows_its_error_until_it_is_written()
    {
        using var built = new Measurements("calllogs.export.files_built");
        await using var bed = await ExportTestBed.StartAsync(infra);
        var missing = $"missing-{Guid.NewGuid():N}"[..30];
        var id = await bed.CreateProfileAsync(bed.Profile() with { S3Bucket = missing });
        await bed.IngestAsync(Record(Hour0.AddMinutes(10)));
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();
        var status = await bed.StatusAsync(id);
        Assert.Equal(1, status.HoursPending);
        Assert.Contains("bucket does not exist", status.LastError, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, built.Total);

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            bed.Clock.Advance(ObjectUploader.Backoff(attempt));
            await bed.RunExporterAsync();
        }

        Assert.Equal(4, await bed.QueryAsync(db => db.Objects.Where(o => o.ProfileId == id).Select(o => o.Attempts).SingleAsync()));
        Assert.Equal(1, built.Total);

        using var s3 = infra.CreateS3Client();
        await s3.PutBucketAsync(missing);
        bed.Clock.Advance(ObjectUploader.Backoff(4));
        await bed.RunExporterAsync();
        var listed = await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = missing });
        Assert.Single(listed.S3Objects);
        Assert.Equal(1, built.Total);
        Assert.Null((await bed.StatusAsync(id)).LastError);
        Assert.Empty(Directory.Exists(ObjectFiles.Folder) ? Directory.GetFiles(ObjectFiles.Folder, $"{await bed.QueryAsync(db => db.Objects.Where(o => o.ProfileId == id).Select(o => o.Id).SingleAsync())}-*") : []);
    }

    [Fact]
    public async Task The_objects_of_a_deleted_profile_are_given_up_and_no_longer_hold_back_the_staging_cleanup()
    {
        await using var bed = await ExportTestBed.StartAsync(infra, new Dictionary<string, string?> { ["Export:MaxLateness"] = "01:00:00" });
        var created = bed.Profile() with { S3Bucket = $"missing-{Guid.NewGuid():N}"[..30] };
        var deleted = await bed.CreateProfileAsync(created);
        var kept = await bed.CreateProfileAsync();
        var record = Record(Hour0.AddMinutes(10));
        await bed.IngestAsync(record);
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();
        Assert.Equal([record.RequestUuid], await bed.ExportedUuidsAsync(kept));

        await bed.Bus.Publish(new ExportProfileDeleted { ProfileId = deleted, AreaId = bed.Area, Version = 2, DeletedAt = bed.Clock.GetUtcNow() });
        var given = await Eventually.Get(() => bed.QueryAsync(db => db.Objects.AsNoTracking().SingleAsync(o => o.ProfileId == deleted)), o => o.AbandonedAt is not null);
        Assert.Contains("deleted", given.LastError);

        bed.Clock.SetUtcNow(HourClosed(3)); // hour 0 can no longer take records
        await bed.Service.Services.GetRequiredService<StagingCleanupJob>().RunOnceAsync(CancellationToken.None);
        Assert.Equal(0, await bed.CountAsync(db => db.StagedRecords.CountAsync()));
        await bed.RunExporterAsync();
        Assert.Equal(1, (await bed.QueryAsync(db => db.Objects.AsNoTracking().SingleAsync(o => o.ProfileId == deleted))).Attempts); // never tried again
    }

    [Fact]
    public async Task An_object_that_keeps_failing_is_given_up_after_the_set_time_counted_and_its_records_dropped()
    {
        using var givenUp = new Measurements("calllogs.export.objects_given_up");
        await using var bed = await ExportTestBed.StartAsync(infra, new Dictionary<string, string?>
        {
            ["Export:MaxLateness"] = "01:00:00",
            ["Export:GiveUpAfter"] = "02:00:00",
        });
        var id = await bed.CreateProfileAsync(bed.Profile() with { S3Bucket = $"missing-{Guid.NewGuid():N}"[..30] });
        await bed.IngestAsync(Record(Hour0.AddMinutes(10)));
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();
        var cleanup = bed.Service.Services.GetRequiredService<StagingCleanupJob>();

        bed.Clock.SetUtcNow(HourClosed(2)); // past the lateness, but not yet failing for two hours: kept, and so are its records
        await cleanup.RunOnceAsync(CancellationToken.None);
        Assert.Equal(1, await bed.CountAsync(db => db.StagedRecords.CountAsync()));
        Assert.Equal(0, givenUp.Total);

        bed.Clock.SetUtcNow(HourClosed(3));
        await cleanup.RunOnceAsync(CancellationToken.None);
        var abandoned = await bed.QueryAsync(db => db.Objects.AsNoTracking().SingleAsync(o => o.ProfileId == id));
        Assert.NotNull(abandoned.AbandonedAt);
        Assert.StartsWith("Given up after failing for 02:00:00", abandoned.LastError);
        Assert.Equal(1, givenUp.Total);
        Assert.Equal(0, await bed.CountAsync(db => db.StagedRecords.CountAsync()));
        Assert.Equal(0, (await bed.StatusAsync(id)).HoursPending);
    }

    [Fact]
    public async Task Hours_that_planning_reaches_only_after_the_maximum_lateness_are_counted_and_logged_as_lost()
    {
        using var lost = new Measurements("calllogs.export.hours_lost_late");
        await using var bed = await ExportTestBed.StartAsync(infra, new Dictionary<string, string?> { ["Export:MaxLateness"] = "01:00:00" });
        var profile = await bed.CreateProfileAsync();
        await bed.IngestAsync(Record(Hour0.AddHours(4).AddMinutes(30)));

        bed.Clock.SetUtcNow(HourClosed(4)); // planning was down since before 07:00; now 12:06: only 11:00 can still be complete
        await bed.RunExporterAsync();

        Assert.Equal(4, lost.Total);
        Assert.Contains(bed.Logs.Entries, e => e.Message.Contains("4 hours of export profile", StringComparison.Ordinal) && e.Message.Contains(profile.ToString(), StringComparison.Ordinal));
        var hours = await bed.QueryAsync(db => db.Objects.Where(o => o.ProfileId == profile).Select(o => o.HourStart).ToListAsync());
        Assert.Equal([Hour0.AddHours(4)], hours);
    }

    [Fact]
    public async Task A_profile_disabled_for_whole_hours_writes_no_empty_files_for_them()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        var created = bed.Profile();
        var profile = await bed.CreateProfileAsync(created);
        var disabled = created with { Enabled = false, Version = 2, UpdatedAt = Hour0.AddMinutes(30) };
        await bed.ApplyAsync(new ExportProfileDisabled { Profile = disabled }, disabled);
        var enabled = created with { Version = 3, UpdatedAt = Hour0.AddHours(2).AddMinutes(10) };
        await bed.ApplyAsync(new ExportProfileEnabled { Profile = enabled }, enabled);

        bed.Clock.SetUtcNow(HourClosed(2));
        await bed.RunExporterAsync();
        var hours = await bed.QueryAsync(db => db.Objects.Where(o => o.ProfileId == profile).OrderBy(o => o.HourStart).Select(o => o.HourStart).ToListAsync());
        Assert.Equal([Hour0, Hour0.AddHours(2)], hours);
    }
}
