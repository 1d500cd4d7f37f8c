using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Export.Data;
using CallLogs.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Export.Consumers;

public sealed class ExportProfileCreatedConsumer(ExportDbContext db) : IConsumer<ExportProfileCreated>
{
    public Task Consume(ConsumeContext<ExportProfileCreated> context) => ProfileCopies.ApplyAsync(db, context.Message.Profile, context.CancellationToken);
}

public sealed class ExportProfileUpdatedConsumer(ExportDbContext db) : IConsumer<ExportProfileUpdated>
{
    public Task Consume(ConsumeContext<ExportProfileUpdated> context) => ProfileCopies.ApplyAsync(db, context.Message.Profile, context.CancellationToken);
}

public sealed class ExportProfileEnabledConsumer(ExportDbContext db) : IConsumer<ExportProfileEnabled>
{
    public Task Consume(ConsumeContext<ExportProfileEnabled> context) => ProfileCopies.ApplyAsync(db, context.Message.Profile, context.CancellationToken);
}

public sealed class ExportProfileDisabledConsumer(ExportDbContext db) : IConsumer<ExportProfileDisabled>
{
    public Task Consume(ConsumeContext<ExportProfileDisabled> context) => ProfileCopies.ApplyAsync(db, context.Message.Profile, context.CancellationToken);
}

public sealed class ExportProfileDeletedConsumer(ExportDbContext db) : IConsumer<ExportProfileDeleted>
{
    public Task Consume(ConsumeContext<ExportProfileDeleted> context) => ProfileCopies.ApplyDeleteAsync(db, context.Message, context.CancellationToken);
}

public sealed class ExportProfileCreatedConsumerDefinition : RetryingConsumerDefinition<ExportProfileCreatedConsumer>;
public sealed class ExportProfileUpdatedConsumerDefinition : RetryingConsumerDefinition<ExportProfileUpdatedConsumer>;
public sealed class ExportProfileEnabledConsumerDefinition : RetryingConsumerDefinition<ExportProfileEnabledConsumer>;
public sealed class ExportProfileDisabledConsumerDefinition : RetryingConsumerDefinition<ExportProfileDisabledConsumer>;
public sealed class ExportProfileDeletedConsumerDefinition : RetryingConsumerDefinition<ExportProfileDeletedConsumer>;

/// <summary>Keeps area names for export file names.</summary>
public sealed class AreaCreatedConsumer(ExportDbContext db) : IConsumer<AreaCreated>
{
    public Task Consume(ConsumeContext<AreaCreated> context) =>
        ProfileCopies.SetAreaNameAsync(db, context.Message.AreaId, context.Message.Name, context.Message.CreatedAt, context.CancellationToken);
}

public sealed class AreaRenamedConsumer(ExportDbContext db) : IConsumer<AreaRenamed>
{
    public Task Consume(ConsumeContext<AreaRenamed> context) =>
        ProfileCopies.SetAreaNameAsync(db, context.Message.AreaId, context.Message.Name, context.Message.UpdatedAt, context.CancellationToken);
}

public sealed class AreaCreatedConsumerDefinition : RetryingConsumerDefinition<AreaCreatedConsumer>;
public sealed class AreaRenamedConsumerDefinition : RetryingConsumerDefinition<AreaRenamedConsumer>;

/// <summary>
/// Applies profile events in version order whatever order they arrive in (each event type has its own queue, and
/// retries reorder them further). Every version is kept as it comes; the copy holds the highest version's snapshot,
/// and the periods the profile was enabled are worked out again from all versions in order. A delete that arrives
/// first leaves a tombstone, so the profile never comes back; an older event after a newer one, or a repeat, only
/// adds what the history already knows. The events of one profile are applied one at a time (an advisory lock), so
/// two consumers never race to insert the same copy.
/// </summary>
internal static class ProfileCopies
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The first key of the two-key advisory locks that serialise a profile's events ("CLPR").</summary>
    private const int LockSpace = 0x434C5052;

    public static Task ApplyAsync(ExportDbContext db, ExportProfileSnapshot profile, CancellationToken cancellationToken) =>
        ApplyAsync(db, profile.ProfileId, profile.AreaId, new ProfileVersion
        {
            ProfileId = profile.ProfileId, Version = profile.Version, Enabled = profile.Enabled, Deleted = false, At = profile.UpdatedAt,
        }, JsonSerializer.Serialize(profile, Json), cancellationToken);

    public static Task ApplyDeleteAsync(ExportDbContext db, ExportProfileDeleted deleted, CancellationToken cancellationToken) =>
        ApplyAsync(db, deleted.ProfileId, deleted.AreaId, new ProfileVersion
        {
            ProfileId = deleted.ProfileId, Version = deleted.Version, Enabled = false, Deleted = true, At = deleted.DeletedAt,
        }, null, cancellationToken);

    private static async Task ApplyAsync(ExportDbContext db, Guid profileId, Guid areaId, ProfileVersion version, string? snapshot,
        CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({LockSpace}, hashtext({profileId}::text))", cancellationToken);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO profile_versions (profile_id, version, enabled, deleted, at)
            VALUES ({version.ProfileId}, {version.Version}, {version.Enabled}, {version.Deleted}, {version.At})
            ON CONFLICT DO NOTHING
            """, cancellationToken);

        var copy = await db.Profiles.FirstOrDefaultAsync(p => p.Id == profileId, cancellationToken);
        if (copy is null)
        {
            db.Profiles.Add(copy = new ProfileCopy { Id = profileId, AreaId = areaId });
        }

        if (copy.Version < version.Version)
        {
            copy.Version = version.Version;
            copy.Enabled = version.Enabled;
            copy.Deleted = version.Deleted;
            copy.Snapshot = snapshot;
        }

        if (copy.Deleted)
        {
            // Whatever of it is still waiting is never written: its owner deleted it, and its records may go.
            await db.Objects.Where(o => o.ProfileId == profileId && !o.Uploaded && o.AbandonedAt == null).ExecuteUpdateAsync(u => u
                .SetProperty(o => o.AbandonedAt, version.At)
                .SetProperty(o => o.LastError, "Not written: the profile was deleted."), cancellationToken);
        }

        await RebuildEnabledPeriodsAsync(db, profileId, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// The periods from the versions in order: enabled from the first version that enables it (from the start of
    /// time for version 1, which the window bounds anyway), until one disables or deletes it.
    /// </summary>
    private static async Task RebuildEnabledPeriodsAsync(ExportDbContext db, Guid profileId, CancellationToken cancellationToken)
    {
        var versions = await db.ProfileVersions.AsNoTracking().Where(v => v.ProfileId == profileId).OrderBy(v => v.Version).ToListAsync(cancellationToken);
        await db.EnabledPeriods.Where(p => p.ProfileId == profileId).ExecuteDeleteAsync(cancellationToken);
        EnabledPeriod? open = null;
        foreach (var version in versions)
        {
            if (open is null && version.Enabled && !version.Deleted)
            {
                open = new EnabledPeriod { ProfileId = profileId, From = version.Version == 1 ? DateTimeOffset.MinValue : version.At };
                db.EnabledPeriods.Add(open);
            }
            else if (open is not null && (!version.Enabled || version.Deleted))
            {
                open.Until = version.At;
                open = null;
            }

            if (version.Deleted)
            {
                break;
            }
        }
    }

    /// <summary>Newest name wins; an older event arriving late changes nothing.</summary>
    public static async Task SetAreaNameAsync(ExportDbContext db, Guid areaId, string name, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO area_names (area_id, name, updated_at) VALUES ({areaId}, {name}, {at})
            ON CONFLICT (area_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at WHERE area_names.updated_at <= excluded.updated_at
            """, cancellationToken);
}
