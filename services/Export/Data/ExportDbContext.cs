using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Export.Data;

public sealed class ExportDbContext(DbContextOptions<ExportDbContext> options) : DbContext(options)
{
    public DbSet<ProfileCopy> Profiles => Set<ProfileCopy>();
    public DbSet<ProfileVersion> ProfileVersions => Set<ProfileVersion>();
    public DbSet<EnabledPeriod> EnabledPeriods => Set<EnabledPeriod>();
    public DbSet<AreaName> AreaNames => Set<AreaName>();
    public DbSet<StagedRecord> StagedRecords => Set<StagedRecord>();
    public DbSet<ExportObject> Objects => Set<ExportObject>();
    public DbSet<ReExport> ReExports => Set<ReExport>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddOutboxMessageEntity();
        modelBuilder.Entity<ProfileCopy>(e =>
        {
            e.ToTable("profiles");
            e.Property(p => p.Snapshot).HasColumnType("jsonb");
            e.HasIndex(p => p.AreaId);
        });
        modelBuilder.Entity<ProfileVersion>(e =>
        {
            e.ToTable("profile_versions");
            e.HasKey(v => new { v.ProfileId, v.Version });
        });
        modelBuilder.Entity<AreaName>(e =>
        {
            e.ToTable("area_names");
            e.HasKey(a => a.AreaId);
        });
        modelBuilder.Entity<EnabledPeriod>(e =>
        {
            e.ToTable("enabled_periods");
            e.HasIndex(p => p.ProfileId);
        });
        modelBuilder.Entity<StagedRecord>(e =>
        {
            e.ToTable("staged_records");
            e.HasKey(r => new { r.AreaId, r.RequestUuid });
            e.Property(r => r.Seq).UseIdentityByDefaultColumn();
            e.HasIndex(r => new { r.AreaId, r.RequestTime });
            e.HasIndex(r => new { r.AreaId, r.Seq });
        });
        modelBuilder.Entity<ExportObject>(e =>
        {
            e.ToTable("export_objects");
            e.HasIndex(o => new { o.ProfileId, o.HourStart });
            e.HasIndex(o => o.Key).IsUnique();
            e.HasIndex(o => o.Uploaded).HasFilter("NOT uploaded");
            e.HasIndex(o => o.ReExportId).HasFilter("re_export_id IS NOT NULL");
        });
        modelBuilder.Entity<ReExport>(e =>
        {
            e.ToTable("re_exports");
            e.HasIndex(r => new { r.AreaId, r.StartedAt });
        });
    }
}
