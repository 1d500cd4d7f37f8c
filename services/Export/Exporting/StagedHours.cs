using CallLogs.Export.Data;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Export.Exporting;

/// <summary>
/// The hours (UTC, in order) of an area's records staged in a range of staging numbers, asked of the database once per
/// pass: the area's profiles are usually planned through the same number, so the first of them reads the new records
/// and the others take its answer. One instance per pass; a pass plans one profile at a time.
/// </summary>
public sealed class StagedHours
{
    private readonly Dictionary<(Guid AreaId, long After, long Through), List<DateTimeOffset>> _known = [];

    public async Task<IReadOnlyList<DateTimeOffset>> GetAsync(ExportDbContext db, Guid areaId, long after, long through, CancellationToken cancellationToken)
    {
        if (!_known.TryGetValue((areaId, after, through), out var hours))
        {
            hours = await db.Database.SqlQuery<DateTimeOffset>($"""
                SELECT DISTINCT date_trunc('hour', request_time, 'UTC') AS "Value" FROM staged_records
                WHERE area_id = {areaId} AND seq > {after} AND seq <= {through}
                """).ToListAsync(cancellationToken);
            hours.Sort();
            _known[(areaId, after, through)] = hours;
        }

        return hours;
    }
}
