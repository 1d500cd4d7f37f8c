using System.Net;
using System.Net.Http.Json;
using CallLogs.TestServers;
using CallLogs.Contracts;
using CallLogs.Export.Exporting;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static CallLogs.Export.Tests.ExportTestBed;

namespace CallLogs.Export.Tests;

/// <summary>
/// The export's rules end to end: filters, the window, enabling and disabling, deletion, lateness, S3 outages,
/// encryption and multipart uploads. Each test downloads the objects and compares the record sets.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class ExportScenarioTests(Infrastructure infra)
{
    private static ExportFilter F(FilterField field, FilterOperator op, string value) => new() { Field = field, Operator = op, Value = value };

    private static DateTimeOffset HourClosed(int hour) => Hour0.AddHours(hour + 1).AddMinutes(6);

    [Fact]
    public async Task Filters_keep_what_each_field_is_or_is_not_and_all_fields_must_hold()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        var services = new[] { ("Weather", "svc-1"), ("Maps", "svc-2"), ("Other", "svc-3") };
        var records = (from key in new[] { "k1", "k2", "k3" }
                       from service in services
                       from code in new[] { 200, 404, 500 }
                       select Record(Hour0.AddMinutes(1), key, code, service.Item1, service.Item2)).ToList();
        records.Add(Record(Hour0.AddMinutes(2)) with { ApiKey = null, HttpStatusCode = null, ServiceName = null, ServiceId = null });

        var cases = new (ExportFilter[] Filters, Func<CallRecord, bool> Expected)[]
        {
            ([F(FilterField.ApiKey, FilterOperator.Is, "k1"), F(FilterField.ApiKey, FilterOperator.Is, "k2")], r => r.ApiKey is "k1" or "k2"),
            ([F(FilterField.ApiKey, FilterOperator.IsNot, "k1")], r => r.ApiKey is not "k1"),
            ([F(FilterField.ApiDefinition, FilterOperator.Is, "Weather"), F(FilterField.ApiDefinition, FilterOperator.Is, "svc-2")], r => r.ServiceName is "Weather" or "Maps"),
            ([F(FilterField.ApiDefinition, FilterOperator.IsNot, "svc-1")], r => r.ServiceId is not "svc-1"),
            ([F(FilterField.ResponseCode, FilterOperator.Is, "200")], r => r.HttpStatusCode is 200),
            ([F(FilterField.ResponseCode, FilterOperator.IsNot, "500"), F(FilterField.ResponseCode, FilterOperator.IsNot, "404")], r => r.HttpStatusCode is not (500 or 404)),
            ([F(FilterField.ApiKey, FilterOperator.Is, "k1"), F(FilterField.ResponseCode, FilterOperator.IsNot, "500"), F(FilterField.ApiDefinition, FilterOperator.Is, "Maps")],
                r => r.ApiKey == "k1" && r.HttpStatusCode != 500 && r.ServiceName == "Maps"),
            ([], _ => true),
        };
        var profiles = new List<Guid>();
        foreach (var (filters, _) in cases)
        {
            profiles.Add(await bed.CreateProfileAsync(filters));
        }

        await bed.IngestAsync([.. records]);
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();

        for (var i = 0; i < cases.Length; i++)
        {
            var expected = records.Where(cases[i].Expected).Select(r => r.RequestUuid).Order().ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, (await bed.ExportedUuidsAsync(profiles[i])).Order());
        }
    }

    [Fact]
    public async Task The_window_takes_records_from_its_start_inclusive_to_its_end_exclusive_and_no_hour_after_it()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        var profile = await bed.CreateProfileAsync(bed.Profile() with { CollectUntil = Hour0.AddMinutes(90) });
        var before = Record(Hour0.AddTicks(-1));
        var atStart = Record(Hour0);
        var lastIn = Record(Hour0.AddMinutes(90).AddTicks(-1));
        var atEnd = Record(Hour0.AddMinutes(90));
        var later = Record(Hour0.AddHours(3));
        await bed.IngestAsync(before, atStart, lastIn, atEnd, later);

        bed.Clock.SetUtcNow(HourClosed(4));
        await bed.RunExporterAsync();

        var objects = await bed.ObjectsAsync(profile);
        Assert.Equal(2, objects.Count); // 07:00 and 08:00 (cut at 08:30); nothing for the hours after the end
        Assert.Equal(new[] { atStart.RequestUuid, lastIn.RequestUuid }.Order(), (await bed.ExportedUuidsAsync(profile)).Order());
    }

    [Fact]
    public async Task A_profile_disabled_then_enabled_exports_nothing_of_the_disabled_time_and_a_deleted_one_stops_with_its_objects_kept()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        var created = bed.Profile();
        var profile = await bed.CreateProfileAsync(created);
        var disabled = created with { Enabled = false, Version = 2, UpdatedAt = Hour0.AddMinutes(20) };
        await bed.ApplyAsync(new ExportProfileDisabled { Profile = disabled }, disabled);
        var enabled = created with { Enabled = true, Version = 3, UpdatedAt = Hour0.AddMinutes(40) };
        await bed.ApplyAsync(new ExportProfileEnabled { Profile = enabled }, enabled);

        var whileEnabled = Record(Hour0.AddMinutes(10));
        var whileDisabled = Record(Hour0.AddMinutes(25));
        var enabledAgain = Record(Hour0.AddMinutes(45));
        await bed.IngestAsync(whileEnabled, whileDisabled, enabledAgain);
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();
        Assert.Equal(new[] { whileEnabled.RequestUuid, enabledAgain.RequestUuid }.Order(), (await bed.ExportedUuidsAsync(profile)).Order());

        await bed.Bus.Publish(new ExportProfileDeleted { ProfileId = profile, AreaId = bed.Area, Version = 4, DeletedAt = Hour0.AddMinutes(70) });
        await Eventually.Until(async () => await bed.CountAsync(db => db.Profiles.CountAsync(p => p.Id == profile && p.Deleted)) == 1);
        await bed.IngestAsync(Record(Hour0.AddMinutes(75)), Record(Hour0.AddMinutes(50)));
        bed.Clock.SetUtcNow(HourClosed(2));
        await bed.RunExporterAsync();

        var objects = await bed.ObjectsAsync(profile);
        Assert.Single(objects);
        Assert.Equal(new[] { whileEnabled.RequestUuid, enabledAgain.RequestUuid }.Order(), (await bed.ExportedUuidsAsync(profile)).Order());
    }

    [Fact]
    public async Task A_record_later_than_the_maximum_lateness_is_refused_and_counted_and_old_staging_is_dropped_without_a_second_export()
    {
        await using var bed = await ExportTestBed.StartAsync(infra, new Dictionary<string, string?> { ["Export:MaxLateness"] = "01:00:00" });
        var profile = await bed.CreateProfileAsync();
        var onTime = Record(Hour0.AddMinutes(5));
        await bed.IngestAsync(onTime);
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();

        using var refused = new Measurements("calllogs.export.records_refused_late");

        // 10:06: a record of 07:00-08:00 is more than an hour late; one of 09:00-10:00 is not.
        bed.Clock.SetUtcNow(HourClosed(2));
        var tooLate = Record(Hour0.AddMinutes(30));
        var fine = Record(Hour0.AddHours(2).AddMinutes(30));
        await bed.Bus.Publish(new CallRecordsIngested { BatchId = Guid.NewGuid(), AreaId = bed.Area, AcceptedAt = bed.Clock.GetUtcNow(), Records = [tooLate, fine, onTime] });
        await Eventually.Until(async () => await bed.CountAsync(db => db.StagedRecords.CountAsync(s => s.RequestUuid == fine.RequestUuid)) == 1);
        Assert.Equal(0, await bed.CountAsync(db => db.StagedRecords.CountAsync(s => s.RequestUuid == tooLate.RequestUuid)));
        await Eventually.Until(() => Task.FromResult(refused.Total == 2)); // the late one and the redelivered old one

        await bed.RunExporterAsync(); // its hourly cleanup runs too
        await using (var scope = bed.Service.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<StagingCleanup>().RunAsync(CancellationToken.None);
        }

        // onTime's hour can no longer take records, so its staging is gone; fine's hour still can.
        Assert.Equal(0, await bed.CountAsync(db => db.StagedRecords.CountAsync(s => s.RequestUuid == onTime.RequestUuid)));
        Assert.Equal(1, await bed.CountAsync(db => db.StagedRecords.CountAsync(s => s.RequestUuid == fine.RequestUuid)));

        await bed.Bus.Publish(new CallRecordsIngested { BatchId = Guid.NewGuid(), AreaId = bed.Area, AcceptedAt = bed.Clock.GetUtcNow(), Records = [onTime] });
        await Eventually.Until(() => Task.FromResult(refused.Total == 3));
        bed.Clock.Advance(TimeSpan.FromMinutes(10));
        await bed.RunExporterAsync();
        Assert.Equal(new[] { onTime.RequestUuid, fine.RequestUuid }.Order(), (await bed.ExportedUuidsAsync(profile)).Order());
    }

    [Fact]
    public async Task With_the_S3_server_down_the_hour_waits_shows_its_error_and_is_written_once_when_it_is_back()
    {
        await using var proxy = await TcpProxy.StartAsync(infra.S3.Endpoint!);
        await using var bed = await ExportTestBed.StartAsync(infra, new Dictionary<string, string?> { ["ConnectionStrings:storage"] = ThroughProxy(proxy) });
        var profile = await bed.CreateProfileAsync();
        var records = Enumerable.Range(0, 50).Select(i => Record(Hour0.AddMinutes(i))).ToList();
        await bed.IngestAsync([.. records]);

        proxy.Pause();
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync(); // the service's own pass may be the one trying: wait for its failure to show
        var status = await Eventually.Get(() => bed.StatusAsync(profile), s => s.LastError is not null);
        Assert.Equal(1, status.HoursPending);
        Assert.Null(status.LastHourExported);

        proxy.Resume();
        bed.Clock.Advance(TimeSpan.FromMinutes(10));
        await bed.RunExporterAsync();
        await Eventually.Get(() => bed.ObjectsAsync(profile), o => o.Count == 1);
        Assert.Equal(records.Select(r => r.RequestUuid).Order(), (await bed.ExportedUuidsAsync(profile)).Order());
        status = await Eventually.Get(() => bed.StatusAsync(profile), s => s.HoursPending == 0);
        Assert.Null(status.LastError);
    }

    [Fact]
    public async Task An_encrypting_profile_assumes_its_role_with_the_external_id_and_writes_with_SSE_KMS_under_those_credentials()
    {
        await using var sts = FakeSts.Start();
        await using var proxy = await TcpProxy.StartAsync(infra.S3.Endpoint!);
        await using var bed = await ExportTestBed.StartAsync(infra, new Dictionary<string, string?>
        {
            ["ConnectionStrings:storage"] = ThroughProxy(proxy),
            ["Export:StsEndpoint"] = sts.Url,
        });
        var encryption = new BucketEncryption
        {
            IamRoleArn = "arn:aws:iam::123456789012:role/calllogs-export",
            CmkKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            IamRoleExternalId = "external-42",
        };
        var profile = await bed.CreateProfileAsync(bed.Profile() with { Encryption = encryption });
        var record = Record(Hour0.AddMinutes(3));
        await bed.IngestAsync(record);
        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();

        Assert.Equal([record.RequestUuid], await bed.ExportedUuidsAsync(profile));
        var call = Assert.Single(sts.Requests);
        Assert.Contains("Action=AssumeRole", call);
        Assert.Contains($"RoleArn={Uri.EscapeDataString(encryption.IamRoleArn)}", call);
        Assert.Contains($"ExternalId={encryption.IamRoleExternalId}", call);
        var put = proxy.SentText().Split("\r\n\r\n").Single(r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.Contains(".csv.gz", StringComparison.Ordinal));
        Assert.Contains("x-amz-server-side-encryption: aws:kms", put, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"x-amz-server-side-encryption-aws-kms-key-id: {encryption.CmkKeyArn}", put, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"x-amz-security-token: {FakeSts.SessionToken}", put, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_object_above_the_threshold_goes_up_in_parts_and_reads_back_whole()
    {
        await using var proxy = await TcpProxy.StartAsync(infra.S3.Endpoint!);
        await using var bed = await ExportTestBed.StartAsync(infra, new Dictionary<string, string?>
        {
            ["ConnectionStrings:storage"] = ThroughProxy(proxy),
            ["Export:MultipartThreshold"] = "1048576",
            ["Export:PartSize"] = "5242880",
        });
        var profile = await bed.CreateProfileAsync();
        // Random user agents barely compress: about 7 MB of gzip, so two parts of 5 MiB at most.
        var records = Enumerable.Range(0, 9_000).Select(i => Record(Hour0.AddSeconds(i / 3)) with { UserAgent = Convert.ToBase64String(Random.Shared.GetItems<byte>(Enumerable.Range(0, 256).Select(b => (byte)b).ToArray(), 600)) }).ToList();
        foreach (var chunk in records.Chunk(3_000))
        {
            await bed.IngestAsync(chunk);
        }

        bed.Clock.SetUtcNow(HourClosed(0));
        await bed.RunExporterAsync();

        var (key, exported) = Assert.Single(await bed.ObjectsAsync(profile));
        Assert.Equal(records.Select(r => r.RequestUuid).Order(), exported.Rows.Skip(1).Select(r => r[0]).Order());
        // Base64 may begin with "+": such a cell is written with the apostrophe that stops spreadsheets running it.
        Assert.Equal(records.ToDictionary(r => r.RequestUuid, r => Csv.IsFormulaLike(r.UserAgent!) ? "'" + r.UserAgent : r.UserAgent),
            exported.Rows.Skip(1).ToDictionary(r => r[0], r => (string?)r[25]));
        Assert.Equal("9000", exported.Metadata["x-amz-meta-record-count"]);
        var sent = proxy.SentText();
        Assert.Contains("?uploads", sent);
        Assert.Contains("partNumber=2", sent);
        Assert.DoesNotContain("partNumber=3", sent);
        Assert.Contains(Uri.EscapeDataString(key).Replace("%2F", "/", StringComparison.Ordinal), sent);
    }

    [Fact]
    public async Task A_re_export_writes_the_hours_again_to_the_same_keys_with_the_current_masking_and_shows_its_progress()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        var created = bed.Profile();
        var profile = await bed.CreateProfileAsync(created);
        var records = Enumerable.Range(0, 30).Select(i => Record(Hour0.AddMinutes(i * 5), key: "0123456789")).ToList();
        await bed.IngestAsync([.. records]);
        bed.Clock.SetUtcNow(HourClosed(2));
        await bed.RunExporterAsync();
        var before = await bed.ObjectsAsync(profile);
        Assert.Equal(3, before.Count);
        Assert.All(before.Values.SelectMany(o => o.Rows.Skip(1)), r => Assert.Equal("0123456789", r[3]));

        var masked = created with { MaskSensitiveData = true, UnmaskedCharacters = 2, Version = 2, UpdatedAt = bed.Clock.GetUtcNow() };
        await bed.ApplyAsync(new ExportProfileUpdated { Profile = masked }, masked);
        using var admin = bed.Service.CreateClient(infra.Tokens.Issue(ServiceDefaults.Auth.Roles.AreaAdmin, bed.Area, "admin"));
        var url = $"/api/areas/{bed.Area}/export-profiles/{profile}/re-exports";

        var bad = await admin.PostAsJsonAsync(url, new { from = Hour0.AddMinutes(30), to = Hour0 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadAsStringAsync();
        Assert.Contains("from", problem);
        Assert.Contains("to", problem);
        using var viewer = bed.Service.CreateClient(infra.Tokens.Issue(ServiceDefaults.Auth.Roles.AreaViewer, bed.Area, "viewer"));
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync(url, new { from = Hour0, to = Hour0.AddHours(2) })).StatusCode);

        var started = await admin.PostAsJsonAsync(url, new { from = Hour0, to = Hour0.AddHours(2) });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var operation = (await started.Content.ReadFromJsonAsync<OperationStatus>())!;
        Assert.Equal(("running", 0L, 2L, "objects"), (operation.State, operation.Done, operation.Total, operation.Unit));

        await bed.RunExporterAsync();
        var after = await bed.ObjectsAsync(profile);
        Assert.Equal(before.Keys.Order(), after.Keys.Order()); // same keys: written over, nothing added
        var rewritten = after.Where(o => o.Key.Contains("/07/", StringComparison.Ordinal) || o.Key.Contains("/08/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rewritten.Count);
        Assert.All(rewritten.SelectMany(o => o.Value.Rows.Skip(1)), r => Assert.Equal("01******89", r[3]));
        Assert.All(after.Where(o => o.Key.Contains("/09/", StringComparison.Ordinal)).SelectMany(o => o.Value.Rows.Skip(1)), r => Assert.Equal("0123456789", r[3]));
        Assert.Equal(records.Select(r => r.RequestUuid).Order(), (await bed.ExportedUuidsAsync(profile)).Order());

        var done = (await admin.GetFromJsonAsync<OperationStatus>(started.Headers.Location!.ToString()))!;
        Assert.Equal(("succeeded", 2L, 2L), (done.State, done.Done, done.Total));
        using var operatorClient = bed.Service.CreateClient(infra.Tokens.Issue(ServiceDefaults.Auth.Roles.Operator, null, "operator"));
        var listed = await operatorClient.GetFromJsonAsync<List<OperationStatus>>("/api/ops/operations");
        Assert.Contains(listed!, o => o.Id == operation.Id && o.Kind == "export-reexport");
    }

    private string ThroughProxy(TcpProxy proxy) =>
        $"Endpoint=http://127.0.0.1:{proxy.Port}/;AccessKey={infra.S3.AccessKey};SecretKey={infra.S3.SecretKey};Region={infra.S3.Region}";
}
