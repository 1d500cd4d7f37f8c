using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Ingest.Data;

public sealed class IngestDbContext(DbContextOptions<IngestDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddOutboxMessageEntity();
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(IngestDbContext).Assembly);
    }
}
