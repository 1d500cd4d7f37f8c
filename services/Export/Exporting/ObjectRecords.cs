using System.Globalization;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Secrets;
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
        long seqFrom, long seqTo, SecretSeal seal)
    {
        var command = new NpgsqlCommand { Connection = connection };
        command.CommandText = string.Format(CultureInfo.InvariantCulture, sql, Condition(command.Parameters, "", areaId, profile, hour, seqFrom, seqTo, seal));
        return command;
    }

    /// <summary>
    /// The condition on <c>staged_records s</c> of an object's records, the lookup of the enabled periods last (as a
    /// column of a query, its terms are tested in the order written); its parameters are added to
    /// <paramref name="parameters"/> with names that start with <paramref name="prefix"/>, so that the conditions of
    /// several objects can be in one command.
    /// </summary>
    public static string Condition(NpgsqlParameterCollection parameters, string prefix, Guid areaId, ExportProfileSnapshot profile, DateTimeOffset hour,
        long seqFrom, long seqTo, SecretSeal seal)
    {
        var from = hour > profile.CollectFrom ? hour : profile.CollectFrom;
        var to = profile.CollectUntil is { } until && until < hour.AddHours(1) ? until : hour.AddHours(1);
        parameters.AddWithValue($"{prefix}area", areaId);
        parameters.AddWithValue($"{prefix}profile", profile.ProfileId);
        parameters.AddWithValue($"{prefix}from", from);
        parameters.AddWithValue($"{prefix}to", to);
        parameters.AddWithValue($"{prefix}seq_from", seqFrom);
        parameters.AddWithValue($"{prefix}seq_to", seqTo);
        return $"""
            s.area_id = @{prefix}area AND s.request_time >= @{prefix}from AND s.request_time < @{prefix}to AND s.seq > @{prefix}seq_from AND s.seq <= @{prefix}seq_to
              {Filters(profile.Filters, parameters, prefix, seal)}
              AND EXISTS (SELECT 1 FROM enabled_periods p WHERE p.profile_id = @{prefix}profile AND s.request_time >= p."from" AND (p.until IS NULL OR s.request_time < p.until))
            """;
    }

    /// <summary>
    /// The profile's filters as SQL: within one field <c>is</c> keeps a record whose value is one of the listed ones and
    /// <c>is not</c> one whose value is none of them (a missing value is none of them); across fields all must hold.
    /// API Definition matches the service name or id. An API key comes sealed from the profile service and is staged
    /// sealed: it is opened and matched in each form it can be staged in (<see cref="SecretSeal.StoredForms"/>). A
    /// field's operator is the one of its first filter.
    /// </summary>
    private static string Filters(IReadOnlyList<ExportFilter> filters, NpgsqlParameterCollection parameters, string prefix, SecretSeal seal)
    {
        var sql = new List<string>();
        foreach (var field in filters.GroupBy(f => f.Field))
        {
            var name = $"{prefix}f{sql.Count}";
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
            else if (field.Key == FilterField.ApiKey)
            {
                parameters.AddWithValue(name, values.SelectMany(v => seal.StoredForms(seal.Open(v)!)).Distinct().ToArray());
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
