using System.Globalization;
using CallLogs.Contracts;
using Npgsql;

namespace CallLogs.Export.Exporting;

/// <summary>
/// Which staged records an object holds: those of its area and hour (within the profile's window) with a staging
/// number in its range, whose request time falls in a period the profile was enabled, and that pass the filters.
/// One definition for planning (is there anything new?) and writing (the rows).
/// </summary>
internal static class ObjectRecords
{
    /// <summary>A command for <paramref name="sql"/>, whose <c>{0}</c> is replaced by the condition on <c>staged_records s</c>.</summary>
    public static NpgsqlCommand Command(NpgsqlConnection connection, string sql, Guid areaId, ExportProfileSnapshot profile, DateTimeOffset hour,
        long seqFrom, long seqTo)
    {
        var from = hour > profile.CollectFrom ? hour : profile.CollectFrom;
        var to = profile.CollectUntil is { } until && until < hour.AddHours(1) ? until : hour.AddHours(1);
        var command = new NpgsqlCommand { Connection = connection };
        command.Parameters.AddWithValue("area", areaId);
        command.Parameters.AddWithValue("profile", profile.ProfileId);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        command.Parameters.AddWithValue("seq_from", seqFrom);
        command.Parameters.AddWithValue("seq_to", seqTo);
        var condition = $"""
            s.area_id = @area AND s.request_time >= @from AND s.request_time < @to AND s.seq > @seq_from AND s.seq <= @seq_to
              AND EXISTS (SELECT 1 FROM enabled_periods p WHERE p.profile_id = @profile AND s.request_time >= p."from" AND (p.until IS NULL OR s.request_time < p.until))
              {Filters(profile.Filters, command.Parameters)}
            """;
        command.CommandText = string.Format(CultureInfo.InvariantCulture, sql, condition);
        return command;
    }

    /// <summary>
    /// The profile's filters as SQL: within one field <c>is</c> keeps a record whose value is one of the listed ones and
    /// <c>is not</c> one whose value is none of them (a missing value is none of them); across fields all must hold.
    /// API Definition matches the service name or id. A field's operator is the one of its first filter.
    /// </summary>
    private static string Filters(IReadOnlyList<ExportFilter> filters, NpgsqlParameterCollection parameters)
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
}
