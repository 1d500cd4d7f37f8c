using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Export.Data;

public sealed class ExportDbContext(DbContextOptions<ExportDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddOutboxMessageEntity();
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(ExportDbContext).Assembly);
    }
}
