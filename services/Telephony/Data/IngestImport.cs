using Npgsql;

namespace CallLogs.Telephony.Data;

/// <summary>What the upgrade moved, per table.</summary>
public sealed record ImportResult(long CelRows, long CallLogs, long Users, long Voicemails, long AreaSettings, long Operations)
{
    public override string ToString() =>
        $"{CelRows} CEL rows, {CallLogs} call logs, {Users} users, {Voicemails} voicemails, {AreaSettings} retention settings, {Operations} operations";
}

/// <summary>
/// The upgrade from the versions where telephony lived in the ingest service: moves its tables (<c>telephony_cel</c>,
/// <c>telephony_call_log</c>, <c>telephony_user</c>, <c>telephony_voicemail</c>, <c>telephony_area_settings</c>,
/// <c>telephony_operations</c>) from ingest's database into this one, then drops them there.
/// <list type="number">
/// <item>Each table is streamed by binary COPY from the ingest database into a temporary table here (old column names
/// and shapes converted by the SELECT on the way out; a call log's requested user is derived from its participants).</item>
/// <item>In one transaction, rows are added to this database's tables: call logs get new ids (this service may have made
/// some already) and their CEL rows are pointed at them; what exists here already (same CEL row, user, voicemail,
/// setting, operation, or a call log of the same conversation) is kept as it is.</item>
/// <item>Before commit every source row is checked to be here; only then are the source tables dropped. A run that fails
/// anywhere changes neither database; a second run after a complete one finds nothing to move.</item>
/// </list>
/// </summary>
public static class IngestImport
{
    private static readonly string[] LegacyTables =
        ["telephony_cel", "telephony_call_log", "telephony_user", "telephony_voicemail", "telephony_area_settings", "telephony_operations"];

    private const string CelColumns =
        "id, area_id, event_type, event_time, user_def_type, cid_name, cid_num, cid_ani, cid_rdnis, cid_dnid, exten, context, chan_name, app_name, " +
        "app_data, ama_flags, account_code, peer_account, unique_id, linked_id, user_field, peer, extra, call_log_id";

    private const string CallLogColumns =
        "id, area_id, conversation_id, start, answer, \"end\", call_direction, source_name, source_extension, source_internal_name, " +
        "source_internal_extension, source_internal_context, source_line_identity, source_user_uuid, requested_name, requested_extension, requested_context, " +
        "requested_internal_extension, requested_internal_context, requested_user_uuid, destination_name, destination_extension, " +
        "destination_internal_extension, destination_internal_context, destination_line_identity, destination_user_uuid, destination_details, user_field, " +
        "blocked, reached_voicemail, tags, participants, user_uuids";

    // The old call log stored participants in snake_case; the API shape is camelCase.
    private const string LegacyCallLogSelect =
        "SELECT id, area_id, conversation_id, date, date_answer, date_end, direction, source_name, source_exten, source_internal_name, " +
        "source_internal_exten, source_internal_context, source_line_identity, source_user_uuid, requested_name, requested_exten, requested_context, " +
        "requested_internal_exten, requested_internal_context, " +
        "(SELECT (p->>'user_uuid')::uuid FROM jsonb_array_elements(participants) p WHERE (p->>'requested')::boolean LIMIT 1), " +
        "destination_name, destination_exten, destination_internal_exten, destination_internal_context, destination_line_identity, destination_user_uuid, " +
        "destination_details, user_field, blocked, reached_voicemail, tags::text[], " +
        "COALESCE((SELECT jsonb_agg(jsonb_build_object('userUuid', p->'user_uuid', 'lineId', p->'line_id', 'role', p->'role', 'tags', COALESCE(p->'tags', '[]'::jsonb), " +
        "'answered', COALESCE(p->'answered', 'false'::jsonb), 'requested', COALESCE(p->'requested', 'false'::jsonb))) FROM jsonb_array_elements(participants) p), '[]'::jsonb), " +
        "user_uuids::uuid[] FROM telephony_call_log";

    private static readonly string RestOfCallLog = string.Join(", ", CallLogColumns.Split(", ").Skip(1).Select(c => "l." + c));

    private static readonly (string Temp, string Like, string Columns, string Select)[] Tables =
    [
        ("import_cel", "cel", CelColumns, $"SELECT {CelColumns} FROM telephony_cel"),
        ("import_call_log", "call_log", CallLogColumns, LegacyCallLogSelect),
        ("import_user", "directory_user", "area_id, uuid, name, user_field, lines", "SELECT area_id, uuid, name, user_field, lines FROM telephony_user"),
        ("import_voicemail", "directory_voicemail", "area_id, id, name, number, context", "SELECT area_id, id, name, number, context FROM telephony_voicemail"),
        ("import_area_settings", "area_settings", "area_id, retention_days", "SELECT area_id, retention_days FROM telephony_area_settings"),
        ("import_operation", "operation", "id, area_id, kind, started_by, started_at, updated_at, finished_at, state, done, total, unit, message",
            "SELECT id, area_id, kind, started_by, started_at, updated_at, finished_at, state, done, total, unit, message FROM telephony_operations"),
    ];

    /// <returns>What was moved, or null when the ingest database has no telephony tables (nothing to move).</returns>
    public static async Task<ImportResult?> MoveAsync(string ingestConnectionString, NpgsqlDataSource telephony, CancellationToken ct)
    {
        await using var source = new NpgsqlConnection(ingestConnectionString);
        await source.OpenAsync(ct);
        await using (var exists = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY(@names)", source))
        {
            exists.Parameters.AddWithValue("names", LegacyTables);
            var found = (long)(await exists.ExecuteScalarAsync(ct))!;
            if (found == 0)
            {
                return null;
            }

            if (found != LegacyTables.Length)
            {
                throw new InvalidOperationException($"The ingest database has {found} of the {LegacyTables.Length} telephony tables ({string.Join(", ", LegacyTables)}): " +
                    "upgrade ingest to its last version with telephony (it creates them all) before moving them.");
            }
        }

        await using var target = await telephony.OpenConnectionAsync(ct);
        await using var transaction = await target.BeginTransactionAsync(ct);
        // a consistent snapshot of the source while it is read; the PBX writes to the new service meanwhile
        await using var snapshot = await source.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        foreach (var (temp, like, columns, select) in Tables)
        {
            await ExecuteAsync(target, $"CREATE TEMP TABLE {temp} (LIKE \"{like}\") ON COMMIT DROP", ct);
            await using var reader = await source.BeginRawBinaryCopyAsync($"COPY ({select}) TO STDOUT (FORMAT BINARY)", ct);
            await using var writer = await target.BeginRawBinaryCopyAsync($"COPY {temp} ({columns}) FROM STDIN (FORMAT BINARY)", ct);
            await reader.CopyToAsync(writer, ct);
        }

        var result = new ImportResult(
            await CountAsync(target, "import_cel", ct), await CountAsync(target, "import_call_log", ct), await CountAsync(target, "import_user", ct),
            await CountAsync(target, "import_voicemail", ct), await CountAsync(target, "import_area_settings", ct), await CountAsync(target, "import_operation", ct));

        await ExecuteAsync(target, $$"""
            -- call logs of conversations this service has not made yet, under new ids
            CREATE TEMP TABLE import_call_log_id ON COMMIT DROP AS
              SELECT l.id AS old_id, nextval(pg_get_serial_sequence('call_log', 'id')) AS new_id FROM import_call_log l
              WHERE NOT EXISTS (SELECT 1 FROM call_log c WHERE c.area_id = l.area_id AND c.conversation_id = l.conversation_id);
            INSERT INTO call_log ({{CallLogColumns}}) SELECT m.new_id, {{RestOfCallLog}} FROM import_call_log l JOIN import_call_log_id m ON m.old_id = l.id;
            -- CEL rows keep their ids; those of a call log not taken count as unprocessed
            INSERT INTO cel SELECT c.id, c.area_id, c.event_type, c.event_time, c.user_def_type, c.cid_name, c.cid_num, c.cid_ani, c.cid_rdnis, c.cid_dnid,
                c.exten, c.context, c.chan_name, c.app_name, c.app_data, c.ama_flags, c.account_code, c.peer_account, c.unique_id, c.linked_id, c.user_field,
                c.peer, c.extra, m.new_id
              FROM import_cel c LEFT JOIN import_call_log_id m ON m.old_id = c.call_log_id
              ON CONFLICT DO NOTHING;
            INSERT INTO directory_user SELECT * FROM import_user ON CONFLICT DO NOTHING;
            INSERT INTO directory_voicemail SELECT * FROM import_voicemail ON CONFLICT DO NOTHING;
            INSERT INTO area_settings SELECT * FROM import_area_settings ON CONFLICT DO NOTHING;
            INSERT INTO operation SELECT * FROM import_operation ON CONFLICT DO NOTHING;
            """, ct);

        // nothing is dropped unless every source row is here
        var missing = await CountAsync(target, """
            (SELECT 1 FROM import_cel i WHERE NOT EXISTS (SELECT 1 FROM cel c WHERE c.area_id = i.area_id AND c.id = i.id)
             UNION ALL SELECT 1 FROM import_call_log i WHERE NOT EXISTS (SELECT 1 FROM call_log c WHERE c.area_id = i.area_id AND c.conversation_id = i.conversation_id)
             UNION ALL SELECT 1 FROM import_user i WHERE NOT EXISTS (SELECT 1 FROM directory_user u WHERE u.area_id = i.area_id AND u.uuid = i.uuid)
             UNION ALL SELECT 1 FROM import_voicemail i WHERE NOT EXISTS (SELECT 1 FROM directory_voicemail v WHERE v.area_id = i.area_id AND v.id = i.id)
             UNION ALL SELECT 1 FROM import_area_settings i WHERE NOT EXISTS (SELECT 1 FROM area_settings s WHERE s.area_id = i.area_id)
             UNION ALL SELECT 1 FROM import_operation i WHERE NOT EXISTS (SELECT 1 FROM operation o WHERE o.id = i.id)) AS missing
            """, ct);
        if (missing != 0)
        {
            throw new InvalidOperationException($"{missing} rows of the ingest database would not be in the telephony database; nothing was moved.");
        }

        await transaction.CommitAsync(ct);
        await snapshot.CommitAsync(ct);
        await ExecuteAsync(source, $"DROP TABLE {string.Join(", ", LegacyTables)}; DROP TABLE IF EXISTS \"__ef_migrations_telephony\"", ct);
        return result;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string from, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {from}", connection);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
