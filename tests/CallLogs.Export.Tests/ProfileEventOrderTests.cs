using CallLogs.Contracts;
using CallLogs.Export.Data;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using static CallLogs.Export.Tests.ExportTestBed;

namespace CallLogs.Export.Tests;

/// <summary>
/// Profile events come through one queue per event type, so they arrive in any order, and some twice. The export
/// service must end where in-order delivery would have left it.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class ProfileEventOrderTests(Infrastructure infra) : IAsyncLifetime
{
    private ExportTestBed _bed = null!;

    public async Task InitializeAsync() => _bed = await ExportTestBed.StartAsync(infra);

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    /// <summary>Created, masked, disabled at :20, enabled at :40, disabled at :70, and (when <paramref name="delete"/>) deleted at :90.</summary>
    private List<object> Lifecycle(ExportProfileSnapshot created, bool delete)
    {
        var masked = created with { MaskSensitiveData = true, UnmaskedCharacters = 2, Version = 2, UpdatedAt = Hour0.AddMinutes(10) };
        var events = new List<object>
        {
            new ExportProfileCreated { Profile = created },
            new ExportProfileUpdated { Profile = masked },
            new ExportProfileDisabled { Profile = masked with { Enabled = false, Version = 3, UpdatedAt = Hour0.AddMinutes(20) } },
            new ExportProfileEnabled { Profile = masked with { Enabled = true, Version = 4, UpdatedAt = Hour0.AddMinutes(40) } },
            new ExportProfileDisabled { Profile = masked with { Enabled = false, Version = 5, UpdatedAt = Hour0.AddMinutes(70) } },
        };
        if (delete)
        {
            events.Add(new ExportProfileDeleted { ProfileId = created.ProfileId, AreaId = created.AreaId, Version = 6, DeletedAt = Hour0.AddMinutes(90) });
        }

        return events;
    }

    private async Task PublishAsync(object message) => await (message switch
    {
        ExportProfileCreated e => _bed.Bus.Publish(e),
        ExportProfileUpdated e => _bed.Bus.Publish(e),
        ExportProfileEnabled e => _bed.Bus.Publish(e),
        ExportProfileDisabled e => _bed.Bus.Publish(e),
        ExportProfileDeleted e => _bed.Bus.Publish(e),
        _ => throw new ArgumentException(message.GetType().Name),
    });

    private Task<ProfileCopy?> CopyAsync(Guid id) => _bed.QueryAsync(db => db.Profiles.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id));

    private Task<List<(DateTimeOffset, DateTimeOffset?)>> PeriodsAsync(Guid id) => _bed.QueryAsync(async db =>
        (await db.EnabledPeriods.AsNoTracking().Where(p => p.ProfileId == id).OrderBy(p => p.From).ToListAsync()).Select(p => (p.From, p.Until)).ToList());

    [Fact]
    public async Task Lifecycles_delivered_shuffled_and_duplicated_end_exactly_as_in_order_with_no_duplicate_key_retries()
    {
        var cases = new List<(ExportProfileSnapshot Profile, bool Deleted, int Versions)>();
        var deliveries = new List<object>();
        var random = new Random(21);
        for (var i = 0; i < 8; i++)
        {
            var deleted = i % 2 == 0;
            var profile = _bed.Profile();
            var events = Lifecycle(profile, deleted);
            cases.Add((profile, deleted, events.Count));
            deliveries.AddRange(events);
            deliveries.AddRange(events.Where(_ => random.Next(3) == 0)); // some of them twice
        }

        // All at once and shuffled: the five consumers take them concurrently, in whatever order the queues give them.
        var logsBefore = _bed.Logs.Entries.Count;
        await Task.WhenAll(deliveries.OrderBy(_ => random.Next()).Select(PublishAsync));
        foreach (var (profile, _, versions) in cases)
        {
            await Eventually.Until(async () => await _bed.CountAsync(db => db.ProfileVersions.CountAsync(v => v.ProfileId == profile.ProfileId)) == versions,
                because: $"every version of {profile.ProfileId} applied");
        }

        foreach (var (profile, deleted, versions) in cases)
        {
            var copy = (await CopyAsync(profile.ProfileId))!;
            Assert.Equal((versions, deleted, false), (copy.Version, copy.Deleted, copy.Enabled));
            if (!deleted)
            {
                var snapshot = System.Text.Json.JsonSerializer.Deserialize<ExportProfileSnapshot>(copy.Snapshot!, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
                Assert.Equal((5L, true, 2), (snapshot.Version, snapshot.MaskSensitiveData, snapshot.UnmaskedCharacters));
            }

            Assert.Equal([(DateTimeOffset.MinValue, Hour0.AddMinutes(20)), (Hour0.AddMinutes(40), Hour0.AddMinutes(70))], await PeriodsAsync(profile.ProfileId));
        }

        var failures = _bed.Logs.Entries.Skip(logsBefore).Where(e => e.Level >= LogLevel.Warning && (e.Category.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.Ordinal)
            || e.Category.StartsWith("MassTransit", StringComparison.Ordinal) || e.Category.StartsWith("Npgsql", StringComparison.Ordinal)));
        Assert.True(!failures.Any(), string.Join("\n", failures.Select(e => $"{e.Category}: {e.Message}")));
        foreach (var queue in new[] { "export-profile-created", "export-profile-updated", "export-profile-enabled", "export-profile-disabled", "export-profile-deleted" })
        {
            Assert.Equal(0, await infra.QueueDepthAsync(_bed.Service.Configuration["ConnectionStrings:messaging"]!, $"export-{queue}_error"));
        }
    }

    [Fact]
    public async Task A_delete_consumed_before_the_create_is_remembered_and_the_profile_never_exports()
    {
        var profile = _bed.Profile();
        await _bed.Bus.Publish(new ExportProfileDeleted { ProfileId = profile.ProfileId, AreaId = _bed.Area, Version = 2, DeletedAt = Hour0.AddMinutes(-10) });
        await Eventually.Until(async () => await CopyAsync(profile.ProfileId) is { Deleted: true });

        await _bed.Bus.Publish(new ExportProfileCreated { Profile = profile });
        await Eventually.Until(async () => await _bed.CountAsync(db => db.ProfileVersions.CountAsync(v => v.ProfileId == profile.ProfileId)) == 2);
        var copy = (await CopyAsync(profile.ProfileId))!;
        Assert.Equal((2L, true, false, (string?)null), (copy.Version, copy.Deleted, copy.Enabled, copy.Snapshot));
        Assert.Equal([(DateTimeOffset.MinValue, (DateTimeOffset?)Hour0.AddMinutes(-10))], await PeriodsAsync(profile.ProfileId));

        await _bed.IngestAsync(Record(Hour0.AddMinutes(5)));
        _bed.Clock.SetUtcNow(Hour0.AddHours(1).AddMinutes(6));
        await _bed.RunExporterAsync();
        Assert.Equal(0, await _bed.CountAsync(db => db.Objects.CountAsync(o => o.ProfileId == profile.ProfileId)));
        Assert.Empty(await _bed.BucketObjectsAsync(_bed.Bucket));
    }

    [Fact]
    public async Task An_older_event_after_a_newer_one_changes_nothing_but_fills_in_the_history()
    {
        var created = _bed.Profile();
        await _bed.ApplyAsync(new ExportProfileCreated { Profile = created }, created);
        var enabledAgain = created with { Enabled = true, Version = 3, UpdatedAt = Hour0.AddMinutes(40) };
        await _bed.ApplyAsync(new ExportProfileEnabled { Profile = enabledAgain }, enabledAgain);
        Assert.Equal([(DateTimeOffset.MinValue, (DateTimeOffset?)null)], await PeriodsAsync(created.ProfileId));

        // The disable of :20 (version 2) comes last: the copy stays at version 3, enabled; the periods learn the gap.
        await _bed.Bus.Publish(new ExportProfileDisabled { Profile = created with { Enabled = false, Version = 2, UpdatedAt = Hour0.AddMinutes(20) } });
        await Eventually.Until(async () => (await PeriodsAsync(created.ProfileId)).Count == 2);
        Assert.Equal([(DateTimeOffset.MinValue, Hour0.AddMinutes(20)), (Hour0.AddMinutes(40), (DateTimeOffset?)null)], await PeriodsAsync(created.ProfileId));
        Assert.Equal((3L, true), ((await CopyAsync(created.ProfileId))!.Version, (await CopyAsync(created.ProfileId))!.Enabled));
    }
}
