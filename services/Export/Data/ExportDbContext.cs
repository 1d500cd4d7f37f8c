using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Export.Data;

public sealed class ExportDbContext(DbContextOptions<ExportDbContext> options) : DbContext(options)
{
    public DbSet<ProfileCopy> Profiles => Set<ProfileCopy>();
    public DbSet<EnabledPeriod> EnabledPeriods => Set<EnabledPeriod>();
    public DbSet<StagedRecord> StagedRecords => Set<StagedRecord>();
    public DbSet<ExportObject> Objects => Set<ExportObject>();
    public DbSet<Assignment> Assignments => Set<Assignment>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddOutboxMessageEntity();
        modelBuilder.Entity<ProfileCopy>(e =>
        {
            e.ToTable("profiles");
            e.Property(p => p.Snapshot).HasColumnType("jsonb");
            e.HasIndex(p => p.AreaId);
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
            e.HasIndex(r => new { r.AreaId, r.RequestTime });
            e.HasIndex(r => new { r.AreaId, r.ReceivedAt });
        });
        modelBuilder.Entity<ExportObject>(e =>
        {
            e.ToTable("export_objects");
            e.HasIndex(o => new { o.ProfileId, o.HourStart });
            e.HasIndex(o => o.Key).IsUnique();
            e.HasIndex(o => o.Uploaded).HasFilter("NOT uploaded");
        });
        modelBuilder.Entity<Assignment>(e =>
        {
            e.ToTable("assignments");
            e.HasKey(a => new { a.ProfileId, a.RequestUuid });
            e.HasIndex(a => a.ObjectId);
        });
    }
}
