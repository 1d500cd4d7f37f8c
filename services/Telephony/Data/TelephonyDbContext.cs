using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.Telephony.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace CallLogs.Telephony.Data;

/// <summary>
/// The telephony database. CEL rows are the source of truth; call logs are derived from them and can be deleted and
/// generated again at any time. A CEL row points at the call log made from it (none while unprocessed); the link is
/// kept by the generation itself, without a foreign key, so that rows and call logs are written by COPY in any order.
/// </summary>
public sealed class TelephonyDbContext(DbContextOptions<TelephonyDbContext> options) : DbContext(options)
{
    /// <summary>The area of a CEL row: a shadow property, the PBX's row knows nothing of areas.</summary>
    public const string AreaIdProperty = "AreaId";

    /// <summary>Every user of a call log (any role): a shadow array for "my call logs".</summary>
    public const string UserUuidsProperty = "UserUuids";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public DbSet<CelRow> Cels => Set<CelRow>();
    public DbSet<TelephonyCallLog> CallLogs => Set<TelephonyCallLog>();
    public DbSet<TelephonyUser> Users => Set<TelephonyUser>();
    public DbSet<TelephonyVoicemail> Voicemails => Set<TelephonyVoicemail>();
    public DbSet<TelephonyAreaSettings> AreaSettings => Set<TelephonyAreaSettings>();
    public DbSet<TelephonyOperation> Operations => Set<TelephonyOperation>();

    /// <summary>The CEL rows of one area.</summary>
    public IQueryable<CelRow> CelsOf(Guid areaId) => Cels.Where(c => EF.Property<Guid>(c, AreaIdProperty) == areaId);

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddOutboxMessageEntity();
        modelBuilder.Entity<CelRow>(e =>
        {
            e.ToTable("cel");
            e.Property<Guid>(AreaIdProperty);
            e.HasKey(AreaIdProperty, nameof(CelRow.Id));
            e.Property(c => c.Id).ValueGeneratedNever();
            e.HasIndex(AreaIdProperty, nameof(CelRow.LinkedId));
            e.HasIndex(AreaIdProperty, nameof(CelRow.UniqueId));
            // Rows waiting for a generation, by time (the newest N, the last D days, the purge of old ones): only those
            // rows, so the real-time intake, which stores nearly every row linked to its call log already, does not
            // write this index, and a row leaves it when it is linked.
            e.HasIndex(AreaIdProperty, nameof(CelRow.EventTime)).HasFilter("call_log_id IS NULL").HasDatabaseName("ix_cel_area_id_event_time_unprocessed");
            e.HasIndex(c => c.CallLogId);
        });
        modelBuilder.Entity<TelephonyCallLog>(e =>
        {
            e.ToTable("call_log");
            e.HasKey(c => c.Id);
            e.Property(c => c.Id).UseIdentityByDefaultColumn();
            e.HasIndex(c => new { c.AreaId, c.Start });
            e.HasIndex(c => c.ConversationId);
            e.PrimitiveCollection(c => c.Tags);
            e.HasIndex(c => c.Tags).HasMethod("gin");
            e.Property<Guid[]>(UserUuidsProperty);
            e.HasIndex(UserUuidsProperty).HasMethod("gin");
            e.Property(c => c.Participants).HasColumnType("jsonb").HasConversion(
                v => JsonSerializer.Serialize(v, Json), v => JsonSerializer.Deserialize<List<CallLogParticipant>>(v, Json) ?? new List<CallLogParticipant>(),
                new ValueComparer<IReadOnlyList<CallLogParticipant>>((a, b) => a!.SequenceEqual(b!), v => v.Count, v => v.ToList()));
            e.Property(c => c.DestinationDetails).HasColumnType("jsonb").HasConversion(
                v => JsonSerializer.Serialize(v, Json), v => JsonSerializer.Deserialize<List<DestinationDetail>>(v, Json) ?? new List<DestinationDetail>(),
                new ValueComparer<IReadOnlyList<DestinationDetail>>((a, b) => a!.SequenceEqual(b!), v => v.Count, v => v.ToList()));
        });
        modelBuilder.Entity<TelephonyUser>(e =>
        {
            e.ToTable("directory_user");
            e.HasKey(u => new { u.AreaId, u.Uuid });
            e.Property(u => u.Lines).HasColumnType("jsonb").HasConversion(
                v => JsonSerializer.Serialize(v, Json), v => JsonSerializer.Deserialize<List<DirectoryLine>>(v, Json) ?? new List<DirectoryLine>(),
                new ValueComparer<IReadOnlyList<DirectoryLine>>((a, b) => a!.SequenceEqual(b!), v => v.Count, v => v.ToList()));
        });
        modelBuilder.Entity<TelephonyVoicemail>(e =>
        {
            e.ToTable("directory_voicemail");
            e.HasKey(v => new { v.AreaId, v.Id });
            e.Property(v => v.Id).ValueGeneratedNever();
        });
        modelBuilder.Entity<TelephonyAreaSettings>(e =>
        {
            e.ToTable("area_settings");
            e.HasKey(s => s.AreaId);
        });
        modelBuilder.Entity<TelephonyOperation>(e =>
        {
            e.ToTable("operation");
            e.HasIndex(o => new { o.AreaId, o.StartedAt });
        });
    }
}

public sealed class TelephonyUser
{
    public Guid AreaId { get; set; }
    public Guid Uuid { get; set; }
    public string? Name { get; set; }
    public string? UserField { get; set; }
    public IReadOnlyList<DirectoryLine> Lines { get; set; } = [];
}

public sealed class TelephonyVoicemail
{
    public Guid AreaId { get; set; }
    public int Id { get; set; }
    public required string Name { get; set; }
    public required string Number { get; set; }
    public required string Context { get; set; }
}

public sealed class TelephonyAreaSettings
{
    public Guid AreaId { get; set; }
    public int RetentionDays { get; set; }
}
