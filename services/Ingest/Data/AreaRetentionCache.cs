using System.Collections.Concurrent;
using CallLogs.Ingest.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CallLogs.Ingest.Data;

/// <summary>
/// Each area's call-record retention in days, as the batch check needs it once per batch: read from
/// <c>area_retention</c> (the default when the area has no row) and kept for a short while, so a busy gateway costs
/// one lookup every few seconds, not one per batch. A change made here is seen at once; one made on another instance
/// within <see cref="Freshness"/>.
/// </summary>
public sealed class AreaRetentionCache(NpgsqlDataSource dataSource, IOptions<IngestOptions> options, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<Guid, (int Days, DateTimeOffset ReadAt)> _days = new();

    public async ValueTask<int> DaysAsync(Guid areaId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (_days.TryGetValue(areaId, out var known) && now - known.ReadAt < Freshness)
        {
            return known.Days;
        }

        await using var command = dataSource.CreateCommand("SELECT days FROM area_retention WHERE area_id = @area");
        command.Parameters.AddWithValue("area", areaId);
        var days = await command.ExecuteScalarAsync(cancellationToken) is int set ? set : options.Value.DefaultRetentionDays;
        _days[areaId] = (days, now);
        return days;
    }

    public void Forget(Guid areaId) => _days.TryRemove(areaId, out _);
}
