using Microsoft.EntityFrameworkCore;

namespace CallLogs.Ingest.Data.Telephony;

/// <summary>
/// Telephony tables on the ingest database (own migrations history table). CEL rows are the source of
/// truth; call logs are derived from them and can be deleted and generated again at any time.
/// </summary>
public sealed class TelephonyDbContext(DbContextOptions<TelephonyDbContext> options) : DbContext(options)
{
    public DbSet<CelEntity> Cels => Set<CelEntity>();
    public DbSet<TelephonyCallLog> CallLogs => Set<TelephonyCallLog>();
    public DbSet<TelephonyUserEntity> Users => Set<TelephonyUserEntity>();
    public DbSet<TelephonyVoicemailEntity> Voicemails => Set<TelephonyVoicemailEntity>();
    public DbSet<TelephonyAreaSettings> AreaSettings => Set<TelephonyAreaSettings>();
    public DbSet<TelephonyOperation> Operations => Set<TelephonyOperation>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<CelEntity>(e =>
        {
            e.ToTable("telephony_cel");
            e.HasKey(c => new { c.AreaId, c.Id });
            e.HasIndex(c => new { c.AreaId, c.LinkedId });
            e.HasIndex(c => new { c.AreaId, c.UniqueId });
            e.HasIndex(c => new { c.AreaId, c.EventTime });
            e.HasIndex(c => c.CallLogId);
            e.HasOne<TelephonyCallLog>().WithMany().HasForeignKey(c => c.CallLogId).OnDelete(DeleteBehavior.SetNull);
        });
        modelBuilder.Entity<TelephonyCallLog>(e =>
        {
            e.ToTable("telephony_call_log");
            e.HasKey(c => c.Id);
            e.HasIndex(c => new { c.AreaId, c.Date });
            e.HasIndex(c => c.Tags).HasMethod("gin");
            e.HasIndex(c => c.UserUuids).HasMethod("gin");
            e.Property(c => c.Participants).HasColumnType("jsonb");
            e.Property(c => c.DestinationDetails).HasColumnType("jsonb");
        });
        modelBuilder.Entity<TelephonyUserEntity>(e =>
        {
            e.ToTable("telephony_user");
            e.HasKey(u => new { u.AreaId, u.Uuid });
            e.Property(u => u.Lines).HasColumnType("jsonb");
        });
        modelBuilder.Entity<TelephonyVoicemailEntity>(e =>
        {
            e.ToTable("telephony_voicemail");
            e.HasKey(v => new { v.AreaId, v.Id });
        });
        modelBuilder.Entity<TelephonyAreaSettings>(e =>
        {
            e.ToTable("telephony_area_settings");
            e.HasKey(s => s.AreaId);
        });
        modelBuilder.Entity<TelephonyOperation>(e =>
        {
            e.ToTable("telephony_operations");
            e.HasIndex(o => new { o.AreaId, o.StartedAt });
        });
    }
}

public sealed class CelEntity
{
    public Guid AreaId { get; set; }
    public long Id { get; set; }
    public required string EventType { get; set; }
    public DateTimeOffset EventTime { get; set; }
    public string UserDefType { get; set; } = "";
    public string CidName { get; set; } = "";
    public string CidNum { get; set; } = "";
    public string CidAni { get; set; } = "";
    public string CidRdnis { get; set; } = "";
    public string CidDnid { get; set; } = "";
    public string Exten { get; set; } = "";
    public string Context { get; set; } = "";
    public string ChanName { get; set; } = "";
    public string AppName { get; set; } = "";
    public string AppData { get; set; } = "";
    public int AmaFlags { get; set; }
    public string AccountCode { get; set; } = "";
    public string PeerAccount { get; set; } = "";
    public required string UniqueId { get; set; }
    public required string LinkedId { get; set; }
    public string UserField { get; set; } = "";
    public string Peer { get; set; } = "";
    public string Extra { get; set; } = "";
    /// <summary>The call log generated from this row; null while unprocessed.</summary>
    public long? CallLogId { get; set; }
}

public sealed class TelephonyCallLog
{
    public long Id { get; set; }
    public Guid AreaId { get; set; }
    public required string ConversationId { get; set; }
    public DateTimeOffset Date { get; set; }
    public DateTimeOffset? DateAnswer { get; set; }
    public DateTimeOffset? DateEnd { get; set; }
    public string? SourceName { get; set; }
    public string? SourceExten { get; set; }
    public string? SourceInternalName { get; set; }
    public string? SourceInternalExten { get; set; }
    public string? SourceInternalContext { get; set; }
    public string? SourceLineIdentity { get; set; }
    public Guid? SourceUserUuid { get; set; }
    public string? RequestedName { get; set; }
    public string? RequestedExten { get; set; }
    public string? RequestedContext { get; set; }
    public string? RequestedInternalExten { get; set; }
    public string? RequestedInternalContext { get; set; }
    public string? DestinationName { get; set; }
    public string? DestinationExten { get; set; }
    public string? DestinationInternalExten { get; set; }
    public string? DestinationInternalContext { get; set; }
    public string? DestinationLineIdentity { get; set; }
    public Guid? DestinationUserUuid { get; set; }
    public string? UserField { get; set; }
    public required string Direction { get; set; }
    public bool Blocked { get; set; }
    public bool ReachedVoicemail { get; set; }
    public List<string> Tags { get; set; } = [];
    public List<Guid> UserUuids { get; set; } = [];
    public required string Participants { get; set; }
    public required string DestinationDetails { get; set; }
}

public sealed class TelephonyUserEntity
{
    public Guid AreaId { get; set; }
    public Guid Uuid { get; set; }
    public string? Name { get; set; }
    public string? UserField { get; set; }
    /// <summary>JSON array of lines: id, name, extensions.</summary>
    public required string Lines { get; set; }
}

public sealed class TelephonyVoicemailEntity
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
