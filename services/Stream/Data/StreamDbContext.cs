using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Stream.Data;

public sealed class StreamDbContext(DbContextOptions<StreamDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddOutboxMessageEntity();
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(StreamDbContext).Assembly);
    }
}
