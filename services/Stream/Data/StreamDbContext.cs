using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Stream.Data;

public sealed class StreamDbContext(DbContextOptions<StreamDbContext> options) : DbContext(options)
{
    public DbSet<Channel> Channels => Set<Channel>();
    public DbSet<AccessToken> AccessTokens => Set<AccessToken>();
    public DbSet<ConnectionLease> Leases => Set<ConnectionLease>();
    public DbSet<KnownArea> Areas => Set<KnownArea>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddOutboxMessageEntity();
        modelBuilder.Entity<Channel>(e =>
        {
            e.ToTable("channels");
            e.Property(c => c.Name).HasMaxLength(200);
            e.Property(c => c.Description).HasMaxLength(2000);
            // One channel per area, whatever the number of requests or instances.
            e.HasIndex(c => c.AreaId).IsUnique();
        });
        modelBuilder.Entity<AccessToken>(e =>
        {
            e.ToTable("access_tokens");
            e.Property(t => t.SecretHash).HasMaxLength(64);
            e.HasIndex(t => t.SecretHash).IsUnique();
            // At most one enabled token per channel.
            e.HasIndex(t => t.ChannelId).IsUnique().HasFilter("enabled").HasDatabaseName("ix_access_tokens_one_enabled");
            e.HasOne<Channel>().WithMany().HasForeignKey(t => t.ChannelId);
        });
        modelBuilder.Entity<ConnectionLease>(e =>
        {
            e.ToTable("connection_leases");
            e.HasIndex(l => new { l.ChannelId, l.ExpiresAt });
        });
        modelBuilder.Entity<KnownArea>(e =>
        {
            e.ToTable("areas");
            e.HasKey(a => a.AreaId);
            e.Property(a => a.Name).HasMaxLength(200);
        });
    }
}
