using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Ingest.Data;

/// <summary>
/// The ingest database. Besides these tables it holds <c>call_records</c>, partitioned by the day its rows expire,
/// written with binary COPY and read with SQL (see <see cref="CallRecordStore"/>); its DDL is in the migrations.
/// </summary>
public sealed class IngestDbContext(DbContextOptions<IngestDbContext> options) : DbContext(options)
{
    public DbSet<AcceptedRequest> AcceptedRequests => Set<AcceptedRequest>();
    public DbSet<AreaRetention> AreaRetentions => Set<AreaRetention>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddOutboxMessageEntity();
        modelBuilder.Entity<AcceptedRequest>(e =>
        {
            e.ToTable("accepted_requests");
            e.HasKey(a => new { a.AreaId, a.RequestUuid });
            e.Property(a => a.RequestUuid).HasMaxLength(200);
            e.HasIndex(a => a.AcceptedAt);
        });
        modelBuilder.Entity<AreaRetention>(e =>
        {
            e.ToTable("area_retention");
            e.HasKey(a => a.AreaId);
        });
    }
}

/// <summary>A request_uuid accepted for an area: a later record with the same id is a duplicate.</summary>
public sealed class AcceptedRequest
{
    public Guid AreaId { get; set; }
    public required string RequestUuid { get; set; }
    public DateTimeOffset AcceptedAt { get; set; }
}

/// <summary>How long an area's call records are kept, when not the default.</summary>
public sealed class AreaRetention
{
    public Guid AreaId { get; set; }
    public int Days { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The days changed: the area's stored records still expire by the old setting until the retention job moves them.</summary>
    public bool RehomePending { get; set; }
}
