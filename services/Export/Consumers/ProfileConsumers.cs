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
    public async Task Consume(ConsumeContext<ExportProfileDeleted> context)
    {
        var deleted = context.Message;
        var copy = await db.Profiles.FirstOrDefaultAsync(p => p.Id == deleted.ProfileId, context.CancellationToken);
        if (copy is null || copy.Version >= deleted.Version)
        {
            return;
        }

        copy.Version = deleted.Version;
        copy.Deleted = true;
        copy.Enabled = false;
        await ProfileCopies.CloseOpenPeriodAsync(db, copy.Id, deleted.DeletedAt, context.CancellationToken);
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

public sealed class ExportProfileCreatedConsumerDefinition : RetryingConsumerDefinition<ExportProfileCreatedConsumer>;
public sealed class ExportProfileUpdatedConsumerDefinition : RetryingConsumerDefinition<ExportProfileUpdatedConsumer>;
public sealed class ExportProfileEnabledConsumerDefinition : RetryingConsumerDefinition<ExportProfileEnabledConsumer>;
public sealed class ExportProfileDisabledConsumerDefinition : RetryingConsumerDefinition<ExportProfileDisabledConsumer>;
public sealed class ExportProfileDeletedConsumerDefinition : RetryingConsumerDefinition<ExportProfileDeletedConsumer>;

/// <summary>
/// Keeps the latest version of each profile (an older event arriving late changes nothing) and the periods it was
/// enabled: records of a disabled stretch are never exported.
/// </summary>
internal static class ProfileCopies
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task ApplyAsync(ExportDbContext db, ExportProfileSnapshot profile, CancellationToken cancellationToken)
    {
        var copy = await db.Profiles.FirstOrDefaultAsync(p => p.Id == profile.ProfileId, cancellationToken);
        if (copy is not null && copy.Version >= profile.Version)
        {
            return;
        }

        var wasEnabled = copy?.Enabled ?? false;
        if (copy is null)
        {
            db.Profiles.Add(copy = new ProfileCopy { Id = profile.ProfileId, AreaId = profile.AreaId, Snapshot = "" });
        }

        copy.Version = profile.Version;
        copy.Enabled = profile.Enabled;
        copy.Snapshot = JsonSerializer.Serialize(profile, Json);
        if (profile.Enabled && !wasEnabled)
        {
            db.EnabledPeriods.Add(new EnabledPeriod { ProfileId = profile.ProfileId, From = profile.Version == 1 ? DateTimeOffset.MinValue : profile.UpdatedAt });
        }
        else if (!profile.Enabled && wasEnabled)
        {
            await CloseOpenPeriodAsync(db, profile.ProfileId, profile.UpdatedAt, cancellationToken);
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    public static async Task CloseOpenPeriodAsync(ExportDbContext db, Guid profileId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var open = await db.EnabledPeriods.Where(p => p.ProfileId == profileId && p.Until == null).ToListAsync(cancellationToken);
        foreach (var period in open)
        {
            period.Until = at;
        }
    }
}
