namespace CallLogs.Contracts;

/// <summary>A platform admin created an area (tenant).</summary>
public sealed record AreaCreated
{
    public required Guid AreaId { get; init; }
    public required string Name { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A platform admin renamed an area.</summary>
public sealed record AreaRenamed
{
    public required Guid AreaId { get; init; }
    public required string Name { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}
