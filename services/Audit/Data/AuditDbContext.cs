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
    public DbSet<AreaTrail> Trails => Set<AreaTrail>();

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
            e.HasIndex(x => new { x.AreaTrailId, x.Seq }).HasFilter("area_trail_id IS NOT NULL AND area_log_file_id IS NULL")
                .HasDatabaseName("ix_audit_events_undelivered_to_area_trail");
            e.HasIndex(x => x.AreaLogFileId);
        });
        modelBuilder.Entity<LogFile>(e =>
        {
            e.ToTable("audit_log_files");
            e.Property(x => x.Bucket).HasMaxLength(63);
            e.HasIndex(x => new { x.Bucket, x.Key }).IsUnique().AreNullsDistinct(false);
            e.HasIndex(x => new { x.TrailId, x.AreaKey, x.CreatedAt });
            e.HasIndex(x => x.Id).HasFilter("uploaded_at IS NULL").HasDatabaseName("ix_audit_log_files_pending");
        });
        modelBuilder.Entity<Digest>(e =>
        {
            e.ToTable("audit_digests");
            e.Property(x => x.Bucket).HasMaxLength(63);
            // One chain per area in the platform trail, and one per area trail (NULLS NOT DISTINCT: the platform trail's id is null).
            e.HasIndex(x => new { x.TrailId, x.AreaKey, x.PeriodEnd }).IsUnique().AreNullsDistinct(false);
            e.HasIndex(x => new { x.Bucket, x.Key }).IsUnique().AreNullsDistinct(false);
        });
        modelBuilder.Entity<TrailArea>(e =>
        {
            e.ToTable("audit_areas");
            e.HasKey(x => x.AreaKey);
        });
        modelBuilder.Entity<AreaTrail>(e =>
        {
            e.ToTable("audit_area_trails");
            e.HasIndex(x => x.AreaId).IsUnique();
            e.Property(x => x.Bucket).HasMaxLength(63);
            e.Property(x => x.Prefix).HasMaxLength(512);
            e.Property(x => x.IamRoleArn).HasMaxLength(2048);
            e.Property(x => x.CmkKeyArn).HasMaxLength(2048);
            e.Property(x => x.IamRoleExternalId).HasMaxLength(1224);
            e.Property(x => x.LatestDeliveryError).HasMaxLength(2000);
            e.Property(x => x.LatestDigestError).HasMaxLength(2000);
        });
        modelBuilder.Entity<SigningKey>(e =>
        {
            e.ToTable("audit_signing_keys");
            e.HasKey(x => x.Fingerprint);
        });
    }
}
