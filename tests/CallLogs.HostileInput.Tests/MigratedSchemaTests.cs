using CallLogs.Audit;
using CallLogs.Audit.Data;
using CallLogs.Export.Data;
using CallLogs.Ingest.Data;
using CallLogs.Profile.Data;
using CallLogs.Stream.Data;
using CallLogs.Telephony.Data;
using CallLogs.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.HostileInput.Tests;

/// <summary>
/// Every service's database, as its migrations leave it, is what its model says: no change of the model lacks its
/// migration, and where a migration can silently differ from the model it does not: a column's compression, which
/// PostgreSQL resets when the column's type changes and EF does not set again when its annotation stays the same (the
/// outbox bodies went back to pglz so, unseen, for a day).
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class MigratedSchemaTests(Infrastructure infra)
{
    [Fact]
    public async Task Every_service_is_migrated_to_its_model_with_each_column_compressed_as_the_model_says()
    {
        var mismatches = new List<string>();
        mismatches.AddRange(await MismatchesAsync<ProfileDbContext, ProfileDbContext>("profile"));
        mismatches.AddRange(await MismatchesAsync<IngestDbContext, IngestDbContext>("ingest"));
        mismatches.AddRange(await MismatchesAsync<ExportDbContext, ExportDbContext>("export"));
        mismatches.AddRange(await MismatchesAsync<StreamDbContext, StreamDbContext>("stream"));
        mismatches.AddRange(await MismatchesAsync<AuditServiceMarker, AuditDbContext>("audit"));
        mismatches.AddRange(await MismatchesAsync<TelephonyDbContext, TelephonyDbContext>("telephony"));
        Assert.Empty(mismatches);
    }

    private sealed record StoredColumn(string Table, string Column, string Compression);

    /// <summary>The service started (so migrated) on a new database; what differs from its model.</summary>
    private async Task<List<string>> MismatchesAsync<TEntryPoint, TContext>(string service)
        where TEntryPoint : class where TContext : DbContext
    {
        await using var factory = await ServiceFactory<TEntryPoint>.StartAsync(infra, service,
            new Dictionary<string, string?> { ["Audit:Bucket"] = await infra.NewBucketAsync() });
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();

        // attcompression: 'l' lz4, 'p' pglz, empty for the server's default_toast_compression (pglz unless set)
        var stored = (await db.Database.SqlQuery<StoredColumn>(
            $"""
            SELECT c.relname AS "Table", a.attname AS "Column", a.attcompression::text AS "Compression"
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
            """).ToListAsync()).ToDictionary(c => (c.Table, c.Column), c => c.Compression);

        var mismatches = new List<string>();
        if (db.Database.HasPendingModelChanges())
        {
            mismatches.Add($"{service}: the model has changes that no migration makes (add one with dotnet ef migrations add)");
        }

        // the design-time model: the runtime one keeps no annotations that only migrations read, such as compression
        foreach (var entity in db.GetService<IDesignTimeModel>().Model.GetEntityTypes().Where(e => e.GetTableName() is not null))
        {
            var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
            foreach (var property in entity.GetProperties())
            {
                var column = property.GetColumnName(table)!;
                var wanted = property.GetCompressionMethod() switch { "lz4" => "l", "pglz" => "p", _ => "" };
                if (!stored.TryGetValue((table.Name, column), out var actual))
                {
                    mismatches.Add($"{service}: {table.Name}.{column} is missing");
                }
                else if (actual != wanted)
                {
                    mismatches.Add($"{service}: {table.Name}.{column} is compressed '{actual}', its model says '{wanted}' ({property.GetCompressionMethod() ?? "default"})");
                }
            }
        }

        return mismatches;
    }
}
