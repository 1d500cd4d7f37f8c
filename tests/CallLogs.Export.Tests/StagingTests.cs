using CallLogs.TestServers;
using CallLogs.Contracts;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using static CallLogs.Export.Tests.ExportTestBed;

namespace CallLogs.Export.Tests;

/// <summary>
/// Staging COPYs each ingested batch straight into the staging table; a batch delivered again, or records that ingest
/// published again under another batch id beside new ones, are staged once, and the new records beside them are not
/// lost.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class StagingTests(Infrastructure infra)
{
    [Fact]
    public async Task Batches_delivered_again_or_overlapping_stage_every_record_exactly_once()
    {
        using var skipping = new Measurements("calllogs.export.staging_redelivered");
        await using var bed = await ExportTestBed.StartAsync(infra);
        var profile = await bed.CreateProfileAsync();
        var records = Enumerable.Range(0, 400).Select(i => Record(Hour0.AddSeconds(i))).ToList();
        var first = Batch(records[..100]);
        await bed.IngestAsync([.. first.Records]);

        // The first batch again (a redelivery), new records, a batch holding staged and new records under a new id (ingest
        // publishing again after its commit failed), and one twice.
        var overlapping = Batch([.. records[50..150], .. records[200..250]]);
        var fresh = Batch(records[150..200]);
        var twice = Batch(records[250..400]);
        foreach (var batch in new[] { first, fresh, overlapping, twice, twice, first })
        {
            await bed.Bus.Publish(batch);
        }

        var uuids = records.Select(r => r.RequestUuid).ToList();
        await Eventually.Until(async () => await bed.CountAsync(db => db.StagedRecords.CountAsync(s => uuids.Contains(s.RequestUuid))) == records.Count);
        await bed.IngestAsync(Record(Hour0.AddMinutes(59))); // staged after everything above was consumed

        var staged = await bed.QueryAsync(db => db.StagedRecords.AsNoTracking().Where(s => s.AreaId == bed.Area).Select(s => s.RequestUuid).ToListAsync());
        Assert.Equal(records.Count + 1, staged.Count);
        Assert.Equal(staged.Count, staged.Distinct().Count());
        Assert.True(skipping.Total > 0, "no staging transaction met a record staged already");

        bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));
        await bed.RunExporterAsync();
        var exported = await bed.ExportedUuidsAsync(profile);
        Assert.Equal(staged.Order(), exported.Order());

        CallRecordsIngested Batch(IReadOnlyList<CallRecord> batch) =>
            new() { BatchId = Guid.NewGuid(), AreaId = bed.Area, AcceptedAt = bed.Clock.GetUtcNow(), Records = batch };
    }

    [Fact]
    public async Task Staged_values_read_back_as_the_records_csv_values_sealed_whatever_they_hold()
    {
        await using var bed = await ExportTestBed.StartAsync(infra);
        var records = new[]
        {
            SampleRecords.Make(Hour0, 1, 2, 0), // every field set: 40 values, numbers and booleans as their CSV text
            Record(Hour0.AddMinutes(1)), // most fields null
            Record(Hour0.AddMinutes(2), key: "", service: "Zürich \"Météo\", 東京 ☎ \U0001F4DE, a\tb\r\nc, \u2028"),
            Record(Hour0.AddMinutes(3), key: new string('k', 60_000)), // a value of 60,000 characters
        };
        await bed.IngestAsync(records);

        var uuids = records.Select(r => r.RequestUuid).ToList();
        var staged = await bed.QueryAsync(db => db.StagedRecords.AsNoTracking().Where(s => uuids.Contains(s.RequestUuid)).ToDictionaryAsync(s => s.RequestUuid, s => s.Values));
        foreach (var record in records)
        {
            // Staged as ingest sent them: with their secrets sealed, which open to the record's own values.
            Assert.Equal(CallRecordFields.Values(infra.Seal.Seal(record)), staged[record.RequestUuid]);
            Assert.Equal(CallRecordFields.Values(record), infra.Seal.Open(staged[record.RequestUuid]));
        }
    }
}
