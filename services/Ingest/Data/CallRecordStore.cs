using System.Collections.Concurrent;
using System.Text.Json;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Data;
using CallLogs.ServiceDefaults.Secrets;
using Npgsql;
using NpgsqlTypes;

namespace CallLogs.Ingest.Data;

public sealed record CallRecordFilter(
    Guid AreaId, DateTimeOffset From, DateTimeOffset Until, string? ApiKey, string? Service, string? Endpoint, int? ResponseCode, string? SrcIp,
    (DateTimeOffset Time, string Uuid)? Before, int Limit);

/// <summary>
/// The <c>call_records</c> table, partitioned by the day its rows expire (<c>expires_on</c>: the day after the record's
/// request day plus its area's retention): written with binary COPY in the transaction that reserves the records'
/// ids, read newest first with keyset paging, expired by dropping the partitions whose day has come. Every area's
/// records expire that way whatever the others keep, so a long retention of one area never turns another's expiry into
/// row-by-row deletes. A record is only taken within its area's retention, so the days a batch can need lie between
/// tomorrow and the longest retention ahead; the retention job creates them ahead of time, and a batch creates at
/// most the few it finds missing.
/// </summary>
public sealed class CallRecordStore(NpgsqlDataSource dataSource, SecretSeal seal)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private const string PartitionPrefix = "call_records_e";
    private readonly ConcurrentDictionary<DateOnly, bool> _partitions = new();

    /// <summary>The day a record of this request time expires when its area keeps records <paramref name="retentionDays"/> days.</summary>
    public static DateOnly ExpiresOn(DateTimeOffset requestTime, int retentionDays) =>
        DateOnly.FromDateTime(requestTime.UtcDateTime).AddDays(retentionDays + 1);

    /// <summary>
    /// Writes records whose ids were just reserved, in the caller's transaction, with binary COPY straight into the
    /// partitioned table. Should a row of the same id still be there (its reservation forgotten by hand), the COPY is
    /// undone to a savepoint and the batch goes through a temporary table with <c>ON CONFLICT DO NOTHING</c>.
    /// Returns each record's stored JSON size in bytes, by which the batch is cut into broker messages.
    /// </summary>
    public async Task<int[]> WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid areaId, IReadOnlyList<CallRecord> records,
        int retentionDays, CancellationToken cancellationToken)
    {
        await transaction.SaveAsync("copy", cancellationToken);
        try
        {
            return await CopyAsync(connection, "call_records", areaId, records, retentionDays, cancellationToken);
        }
        catch (PostgresException e) when (e.IsUniqueViolation())
        {
            await transaction.RollbackAsync("copy", cancellationToken);
        }

        await using (var create = new NpgsqlCommand(
            "CREATE TEMP TABLE IF NOT EXISTS call_records_staging (LIKE call_records) ON COMMIT DELETE ROWS", connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var sizes = await CopyAsync(connection, "call_records_staging", areaId, records, retentionDays, cancellationToken);
        await using var insert = new NpgsqlCommand(
            "INSERT INTO call_records SELECT * FROM call_records_staging ON CONFLICT DO NOTHING", connection, transaction);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return sizes;
    }

    /// <summary>Makes sure the expiry-day partitions of these records exist (once per day and process).</summary>
    public Task EnsurePartitionsAsync(NpgsqlConnection connection, IEnumerable<CallRecord> records, int retentionDays, CancellationToken cancellationToken) =>
        EnsurePartitionsAsync(connection, records.Select(r => ExpiresOn(r.RequestTime, retentionDays)).Distinct(), cancellationToken);

    private async Task EnsurePartitionsAsync(NpgsqlConnection connection, IEnumerable<DateOnly> days, CancellationToken cancellationToken)
    {
        foreach (var day in days.Where(d => !_partitions.ContainsKey(d)).ToList())
        {
            var sql = $"CREATE TABLE IF NOT EXISTS {PartitionPrefix}{day:yyyyMMdd} PARTITION OF call_records FOR VALUES FROM ('{day:yyyy-MM-dd}') TO ('{day.AddDays(1):yyyy-MM-dd}')";
            try
            {
                await using var create = new NpgsqlCommand(sql, connection);
                await create.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.UniqueViolation)
            {
                // Another instance created it at the same moment.
            }

            _partitions[day] = true;
        }
    }

    /// <summary>What is known of existing partitions may be stale (another instance dropped one): learn it again.</summary>
    public void ForgetPartitions() => _partitions.Clear();

    private static async Task<int[]> CopyAsync(NpgsqlConnection connection, string table, Guid areaId, IReadOnlyList<CallRecord> records, int retentionDays,
        CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync(
            $"COPY {table} (area_id, request_time, request_uuid, expires_on, ingestion_time, api_key, service_id, service_name, endpoint_name, http_status_code, src_ip, record) FROM STDIN (FORMAT BINARY)",
            cancellationToken);
        using var json = new FlatJsonWriter();
        var sizes = new int[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(areaId, NpgsqlDbType.Uuid, cancellationToken);
            await copy.WriteAsync(record.RequestTime.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
            await copy.WriteAsync(record.RequestUuid, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(ExpiresOn(record.RequestTime, retentionDays), NpgsqlDbType.Date, cancellationToken);
            await copy.WriteAsync(record.IngestionTime, NpgsqlDbType.Bigint, cancellationToken);
            await WriteNullableAsync(copy, record.ApiKey, cancellationToken);
            await WriteNullableAsync(copy, record.ServiceId, cancellationToken);
            await WriteNullableAsync(copy, record.ServiceName, cancellationToken);
            await WriteNullableAsync(copy, record.EndpointName, cancellationToken);
            if (record.HttpStatusCode is { } code)
            {
                await copy.WriteAsync(code, NpgsqlDbType.Integer, cancellationToken);
            }
            else
            {
                await copy.WriteNullAsync(cancellationToken);
            }

            await WriteNullableAsync(copy, record.SrcIp, cancellationToken);
            var body = json.Write(record);
            sizes[i] = body.Length;
            await copy.WriteAsync(body, NpgsqlDbType.Json, cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
        return sizes;
    }

    public async Task<List<(DateTimeOffset Time, string Uuid, string Json)>> QueryAsync(CallRecordFilter filter, CancellationToken cancellationToken)
    {
        var sql = new System.Text.StringBuilder(
            "SELECT request_time, request_uuid, record::text FROM call_records WHERE area_id = @area AND request_time >= @from AND request_time < @until");
        await using var command = new NpgsqlCommand { Connection = null };
        command.Parameters.AddWithValue("area", filter.AreaId);
        command.Parameters.AddWithValue("from", filter.From.UtcDateTime);
        command.Parameters.AddWithValue("until", filter.Until.UtcDateTime);
        void Where(string clause, string name, object? value)
        {
            if (value is not null)
            {
                sql.Append(" AND ").Append(clause);
                command.Parameters.AddWithValue(name, value);
            }
        }

        // Keys are stored sealed (SecretSeal): the key given matches in each form it can be stored in.
        Where("api_key = ANY(@apiKey)", "apiKey", filter.ApiKey is { } key ? seal.StoredForms(key) : null);
        Where("(service_name = @service OR service_id = @service)", "service", filter.Service);
        Where("endpoint_name = @endpoint", "endpoint", filter.Endpoint);
        Where("http_status_code = @code", "code", filter.ResponseCode);
        Where("src_ip = @srcIp", "srcIp", filter.SrcIp);
        if (filter.Before is { } before)
        {
            sql.Append(" AND (request_time, request_uuid) < (@beforeTime, @beforeUuid)");
            command.Parameters.AddWithValue("beforeTime", before.Time.UtcDateTime);
            command.Parameters.AddWithValue("beforeUuid", before.Uuid);
        }

        sql.Append(" ORDER BY request_time DESC, request_uuid DESC LIMIT @limit");
        command.Parameters.AddWithValue("limit", filter.Limit);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        command.Connection = connection;
        command.CommandText = sql.ToString();
        var rows = new List<(DateTimeOffset, string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((new DateTimeOffset(reader.GetDateTime(0), TimeSpan.Zero), reader.GetString(1), reader.GetString(2)));
        }

        return rows;
    }

    /// <summary>
    /// One pass of retention: partitions created for every expiry day a record can have now (up to the longest retention
    /// of any area ahead); the records of areas whose retention changed moved to their new expiry day (or deleted when
    /// it has passed: work on that area's rows only); the partitions whose expiry day has come dropped whole; and the
    /// reservations of ids older than any record forgotten.
    /// </summary>
    public async Task<(int DroppedPartitions, int DeletedRows)> ExpireAsync(DateTimeOffset now, int defaultDays,
        IReadOnlyDictionary<Guid, int> areaDays, IReadOnlyCollection<Guid> changedAreas, CancellationToken cancellationToken)
    {
        var longest = areaDays.Values.Append(defaultDays).Max();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await EnsurePartitionsAsync(connection, Enumerable.Range(1, longest + 2).Select(today.AddDays), cancellationToken);

        var deleted = 0;
        foreach (var area in changedAreas)
        {
            var days = areaDays.TryGetValue(area, out var set) ? set : defaultDays;
            await using var expire = new NpgsqlCommand(
                "DELETE FROM call_records WHERE area_id = @area AND (request_time AT TIME ZONE 'UTC')::date + @days + 1 <= @today", connection);
            expire.Parameters.AddWithValue("area", area);
            expire.Parameters.AddWithValue("days", days);
            expire.Parameters.AddWithValue("today", today);
            deleted += await expire.ExecuteNonQueryAsync(cancellationToken);
            await using var move = new NpgsqlCommand(
                "UPDATE call_records SET expires_on = (request_time AT TIME ZONE 'UTC')::date + @days + 1 WHERE area_id = @area AND expires_on <> (request_time AT TIME ZONE 'UTC')::date + @days + 1",
                connection);
            move.Parameters.AddWithValue("area", area);
            move.Parameters.AddWithValue("days", days);
            await move.ExecuteNonQueryAsync(cancellationToken);
        }

        var dropped = 0;
        var expired = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'call_records'",
            connection))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var name = reader.GetString(0);
                if (name.StartsWith(PartitionPrefix, StringComparison.Ordinal)
                    && DateOnly.TryParseExact(name[PartitionPrefix.Length..], "yyyyMMdd", out var day) && day <= today)
                {
                    expired.Add(name);
                }
            }
        }

        foreach (var name in expired)
        {
            await using var drop = new NpgsqlCommand($"DROP TABLE IF EXISTS \"{name}\"", connection);
            await drop.ExecuteNonQueryAsync(cancellationToken);
            _partitions.TryRemove(DateOnly.ParseExact(name[PartitionPrefix.Length..], "yyyyMMdd"), out _);
            dropped++;
        }

        // Reservations outlive the records they stand for by two days (a record is kept its retention plus up to a day,
        // its request_time may be ahead of its acceptance), so an id that is forgotten has no row left to collide with.
        await using (var forget = new NpgsqlCommand("DELETE FROM accepted_requests WHERE accepted_at < @before", connection))
        {
            forget.Parameters.AddWithValue("before", now.UtcDateTime.AddDays(-longest - 2));
            await forget.ExecuteNonQueryAsync(cancellationToken);
        }

        return (dropped, deleted);
    }

    private static Task WriteNullableAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken cancellationToken) =>
        value is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);
}
