using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Audit.Data;

public sealed class AuditDbContext(DbContextOptions<AuditDbContext> options) : DbContext(options)
{
    public DbSet<StoredEvent> Events => Set<StoredEvent>();
    public DbSet<LogFile> LogFiles => Set<LogFile>();
    public DbSet<Digest> Digests => Set<Digest>();
    public DbSet<TrailArea> Areas => Set<TrailArea>();
    public DbSet<SigningKey> SigningKeys => Set<SigningKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddOutboxMessageEntity();
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(AuditDbContext).Assembly);

        modelBuilder.Entity<StoredEvent>(e =>
        {
            e.ToTable("audit_events");
            e.HasKey(x => x.EventId);
            e.Property(x => x.Seq).UseIdentityAlwaysColumn();
            e.HasIndex(x => x.Seq).IsUnique();
            e.Property(x => x.Record).HasColumnType("json");
            e.Property(x => x.AreaKey).HasMaxLength(64);
            e.HasIndex(x => new { x.AreaId, x.EventTime, x.Seq });
            e.HasIndex(x => new { x.EventTime, x.Seq });
            e.HasIndex(x => new { x.AreaKey, x.Seq }).HasFilter("log_file_id IS NULL").HasDatabaseName("ix_audit_events_undelivered");
            e.HasIndex(x => x.LogFileId);
        });
        modelBuilder.Entity<LogFile>(e =>
        {
            e.ToTable("audit_log_files");
            e.HasIndex(x => x.Key).IsUnique();
            e.HasIndex(x => new { x.AreaKey, x.CreatedAt });
            e.HasIndex(x => x.Id).HasFilter("uploaded_at IS NULL").HasDatabaseName("ix_audit_log_files_pending");
        });
        modelBuilder.Entity<Digest>(e =>
        {
            e.ToTable("audit_digests");
            e.HasIndex(x => new { x.AreaKey, x.PeriodEnd }).IsUnique();
            e.HasIndex(x => x.Key).IsUnique();
        });
        modelBuilder.Entity<TrailArea>(e =>
        {
            e.ToTable("audit_areas");
            e.HasKey(x => x.AreaKey);
        });
        modelBuilder.Entity<SigningKey>(e =>
        {
            e.ToTable("audit_signing_keys");
            e.HasKey(x => x.Fingerprint);
        });
    }
}
