using CallLogs.Contracts;
using CallLogs.Export.Exporting;
using CallLogs.ServiceDefaults.Secrets;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using static CallLogs.Export.Tests.ExportTestBed;

namespace CallLogs.Export.Tests;

/// <summary>Records come sealed from ingest: staged sealed, exported open (then masked or not as each profile says).</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class ExportSecretsTests(Infrastructure infra) : IAsyncLifetime
{
    private const string Key = "k3y-7f2c9a0e5b1d4c8a";
    private const string Token = "tok-Zm9vYmFyYmF6cXV4";
    private ExportTestBed _bed = null!;

    public async Task InitializeAsync() => _bed = await ExportTestBed.StartAsync(infra);

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    private static CallRecord Carrying(DateTimeOffset time) => Record(time, key: Key) with
    {
        OauthAccessToken = Token,
        RequestId = $"1555711003.068__{Key}",
        Uri = $"/v1/forecast?api_key={Key}&access_token={Token}",
    };

    [Fact]
    public async Task The_staging_holds_no_key_or_token_in_clear_an_unmasked_profile_exports_them_whole_and_a_masked_one_nowhere()
    {
        var open = await _bed.CreateProfileAsync([new ExportFilter { Field = FilterField.ApiKey, Operator = FilterOperator.Is, Value = Key }]);
        var masked = await _bed.CreateProfileAsync(mask: true, keep: 3);
        var record = Carrying(Hour0.AddMinutes(5));
        var other = Record(Hour0.AddMinutes(6), key: "another-key-0000");
        await _bed.IngestAsync(record, other);

        var database = _bed.Service.Configuration["ConnectionStrings:exportdb"]!;
        Assert.NotEmpty(await Sql.TablesHoldingAsync(database, record.RequestUuid));   // the search finds what is stored in clear
        Assert.Equal([], await Sql.TablesHoldingAsync(database, Key));
        Assert.Empty(await Sql.TablesHoldingAsync(database, Token));

        _bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));
        await _bed.RunExporterAsync();

        var (_, (_, rows, _)) = Assert.Single(await Eventually.Get(() => _bed.ObjectsAsync(open), o => o.Count == 1));
        var row = Assert.Single(rows.Skip(1));
        Assert.Equal(CallRecordFields.Values(record).Select(v => v ?? ""), row);
        var (_, (_, maskedRows, text)) = Assert.Single(await Eventually.Get(() => _bed.ObjectsAsync(masked), o => o.Count == 1));
        Assert.Equal(2, maskedRows.Count - 1);
        Assert.DoesNotContain(Key, text);
        Assert.DoesNotContain(Token, text);
        Assert.Contains(maskedRows, r => r[3] == Masking.Mask(Key, 3));
        // The files are built with the secrets open, in a folder no other user can read.
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(ObjectFiles.Folder));
        }
    }

    [Fact]
    public async Task A_record_sealed_with_a_key_the_export_lacks_fails_its_object_loudly_and_is_never_written_sealed()
    {
        var profile = await _bed.CreateProfileAsync();
        var foreign = new SecretSeal(Microsoft.Extensions.Options.Options.Create(new SealingOptions { Key = new string('x', 40) }));
        var record = foreign.Seal(Carrying(Hour0.AddMinutes(5)));
        await _bed.Bus.Publish(new CallRecordsIngested { BatchId = Guid.NewGuid(), AreaId = _bed.Area, AcceptedAt = _bed.Clock.GetUtcNow(), Records = [record] });
        await Eventually.Until(async () => await _bed.CountAsync(db => db.StagedRecords.CountAsync()) == 1);

        _bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));
        await _bed.RunExporterAsync();

        Assert.Empty(await _bed.ObjectsAsync(profile));
        Assert.Contains("Sealing:RetiredKeys", (await _bed.StatusAsync(profile)).LastError ?? string.Join("\n", _bed.Logs.Entries.Select(e => e.Message)));
    }
}
