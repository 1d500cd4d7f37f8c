using System.Globalization;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.Export.Consumers;
using CallLogs.Export.Data;
using CallLogs.Export.Domain;
using CallLogs.Export.Extensions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Decides, for each profile, which records go into which object: for every closed hour (ended plus grace) one first
/// object, and a further object when records of an already written hour arrive late. The records of an object are
/// fixed in the same transaction that creates it (assignments keyed by profile and request id, chosen by one
/// <c>INSERT … SELECT</c> that applies the window, the enabled periods and the filters), under a lock on the profile
/// row, so two instances never give a record to two objects and memory does not grow with the hour's size.
/// </summary>
public sealed class HourPlanner(ExportDbContext db, IOptions<ExportOptions> options, TimeProvider clock)
{
    /// <summary>Records staged up to this long before the previous pass are looked at again (a staging transaction still open then).</summary>
    private static readonly TimeSpan WatermarkOverlap = TimeSpan.FromMinutes(2);

    public async Task<int> PlanAsync(Guid profileId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var copy = await db.Profiles.FromSql($"SELECT * FROM profiles WHERE id = {profileId} FOR UPDATE SKIP LOCKED").ToListAsync(cancellationToken) is [var locked] ? locked : null;
        if (copy is null || copy.Deleted)
        {
            return 0;
        }

        var profile = JsonSerializer.Deserialize<ExportProfileSnapshot>(copy.Snapshot, ProfileCopies.Json)!;
        var closedUntil = ExportRules.HourOf(now - options.Value.GracePeriod);
        var windowEnd = profile.CollectUntil is { } until && until < closedUntil ? until : closedUntil;
        if (profile.CollectFrom >= windowEnd)
        {
            copy.ReceivedWatermark = now; // no hour planned yet: its first pass reads whole hours, the watermark only finds late records
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return 0;
        }

        // Hours that have no object yet (newly closed), and hours with records received since the last pass (late ones).
        var hours = new SortedSet<DateTimeOffset>();
        var firstHour = Max(profile.CollectFrom, ExportRules.HourOf(now - options.Value.MaxLateness));
        for (var hour = Max(firstHour, copy.LastHourPlanned?.AddHours(1) ?? firstHour); hour < windowEnd; hour = hour.AddHours(1))
        {
            hours.Add(hour);
        }

        var watermark = copy.ReceivedWatermark == default ? DateTimeOffset.MinValue : copy.ReceivedWatermark - WatermarkOverlap;
        var lateHours = await db.Database.SqlQuery<DateTimeOffset>($"""
            SELECT DISTINCT date_trunc('hour', request_time, 'UTC') AS "Value" FROM staged_records
            WHERE area_id = {copy.AreaId} AND received_at > {watermark} AND request_time >= {profile.CollectFrom} AND request_time < {windowEnd}
            """).ToListAsync(cancellationToken);
        hours.UnionWith(lateHours.Where(h => copy.LastHourPlanned is { } last && h <= last));

        var (bucket, prefix) = ExportRules.Bucket(profile.S3Bucket);
        var extraction = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond));
        var created = 0;
        foreach (var hour in hours)
        {
            var first = !await db.Objects.AnyAsync(o => o.ProfileId == profileId && o.HourStart == hour, cancellationToken);
            var exportObject = new ExportObject
            {
                ProfileId = profileId,
                HourStart = hour,
                ExtractionTime = extraction,
                Bucket = bucket,
                Key = ExportRules.ObjectKey(prefix, copy.AreaId, profileId, hour, extraction),
                CreatedAt = now,
            };
            db.Objects.Add(exportObject);
            await db.SaveChangesAsync(cancellationToken);
            exportObject.RecordCount = await AssignAsync(profileId, copy.AreaId, exportObject.Id, profile, hour, cancellationToken);
            if (exportObject.RecordCount == 0 && !first)
            {
                db.Objects.Remove(exportObject); // nothing new for an hour that has its object already
            }
            else
            {
                created++;
            }

            await db.SaveChangesAsync(cancellationToken);
        }

        copy.LastHourPlanned = Max(copy.LastHourPlanned ?? DateTimeOffset.MinValue, ExportRules.HourOf(windowEnd.AddTicks(-1)));
        copy.ReceivedWatermark = now;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return created;
    }

    /// <summary>Gives the object every staged record of its hour that the profile takes and no object of it has yet.</summary>
    private async Task<int> AssignAsync(Guid profileId, Guid areaId, long objectId, ExportProfileSnapshot profile, DateTimeOffset hour,
        CancellationToken cancellationToken)
    {
        var from = Max(hour, profile.CollectFrom);
        var to = profile.CollectUntil is { } until && until < hour.AddHours(1) ? until : hour.AddHours(1);
        await using var command = new NpgsqlCommand { Connection = (NpgsqlConnection)db.Database.GetDbConnection() };
        command.Parameters.AddWithValue("profile", profileId);
        command.Parameters.AddWithValue("area", areaId);
        command.Parameters.AddWithValue("object", objectId);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        command.CommandText = $"""
            INSERT INTO assignments (profile_id, request_uuid, object_id)
            SELECT @profile, s.request_uuid, @object FROM staged_records s
            WHERE s.area_id = @area AND s.request_time >= @from AND s.request_time < @to
              AND EXISTS (SELECT 1 FROM enabled_periods p WHERE p.profile_id = @profile AND s.request_time >= p."from" AND (p.until IS NULL OR s.request_time < p.until))
              {FilterConditions(profile.Filters, command.Parameters)}
            ON CONFLICT (profile_id, request_uuid) DO NOTHING
            """;
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The profile's filters as SQL: within one field <c>is</c> keeps a record whose value is one of the listed ones and
    /// <c>is not</c> one whose value is none of them (a missing value is none of them); across fields all must hold.
    /// API Definition matches the service name or id. A field's operator is the one of its first filter.
    /// </summary>
    private static string FilterConditions(IReadOnlyList<ExportFilter> filters, NpgsqlParameterCollection parameters)
    {
        var sql = new List<string>();
        foreach (var field in filters.GroupBy(f => f.Field))
        {
            var name = $"f{sql.Count}";
            var values = field.Select(f => f.Value).Distinct().ToArray();
            var test = field.Key switch
            {
                FilterField.ApiDefinition => $"(s.service_name = ANY(@{name}) OR s.service_id = ANY(@{name}))",
                FilterField.ApiKey => $"s.api_key = ANY(@{name})",
                _ => $"s.http_status_code = ANY(@{name})",
            };
            if (field.Key == FilterField.ResponseCode)
            {
                parameters.AddWithValue(name, values.Select(v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : -1).ToArray());
            }
            else
            {
                parameters.AddWithValue(name, values);
            }

            sql.Add(field.First().Operator == FilterOperator.Is ? $"AND COALESCE({test}, false)" : $"AND NOT COALESCE({test}, false)");
        }

        return string.Join("\n  ", sql);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
