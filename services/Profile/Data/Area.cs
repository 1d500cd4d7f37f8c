namespace CallLogs.Profile.Data;

public sealed class Area
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    /// <summary>Upper-cased name: unique, so names are unique whatever their case.</summary>
    public required string NormalizedName { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
