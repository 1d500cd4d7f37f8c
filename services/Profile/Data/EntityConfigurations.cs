using System.Text.Json;
using System.Text.Json.Serialization;
using CallLogs.Contracts;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CallLogs.Profile.Data;

internal sealed class AreaConfiguration : IEntityTypeConfiguration<Area>
{
    public void Configure(EntityTypeBuilder<Area> area)
    {
        area.ToTable("areas");
        area.Property(a => a.Name).HasMaxLength(200);
        area.Property(a => a.NormalizedName).HasMaxLength(200);
        area.HasIndex(a => a.NormalizedName).IsUnique();
    }
}

internal sealed class ExportProfileConfiguration : IEntityTypeConfiguration<ExportProfile>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public void Configure(EntityTypeBuilder<ExportProfile> profile)
    {
        profile.ToTable("export_profiles");
        profile.Property(p => p.Name).HasMaxLength(200);
        profile.Property(p => p.NormalizedName).HasMaxLength(200);
        profile.Property(p => p.S3Bucket).HasMaxLength(600);
        profile.Property(p => p.IamRoleArn).HasMaxLength(2048);
        profile.Property(p => p.CmkKeyArn).HasMaxLength(2048);
        // Sealed (SecretSeal): AWS's longest external id, 1,224 characters, is about 1,680 sealed.
        profile.Property(p => p.IamRoleExternalId).HasMaxLength(2048);
        profile.Property(p => p.Filters).HasColumnType("jsonb").HasConversion(
            filters => JsonSerializer.Serialize(filters, Json),
            json => JsonSerializer.Deserialize<List<ExportFilter>>(json, Json) ?? new List<ExportFilter>(),
            new ValueComparer<List<ExportFilter>>(
                (a, b) => a!.SequenceEqual(b!),
                filters => filters.Aggregate(0, (hash, f) => HashCode.Combine(hash, f.GetHashCode())),
                filters => filters.ToList()));
        profile.Property(p => p.Version).IsConcurrencyToken();
        profile.HasIndex(p => new { p.AreaId, p.NormalizedName }).IsUnique();
        profile.HasOne<Area>().WithMany().HasForeignKey(p => p.AreaId).OnDelete(DeleteBehavior.Restrict);
    }
}
