using Npgsql;

namespace CallLogs.Export.Data;

/// <summary>
/// Staged records are numbered by a sequence, but numbers are drawn before commit, so a number can become visible
/// after a higher one. Staging transactions hold a shared advisory lock; the exporter takes it exclusively for a moment
/// to read the sequence: every record numbered up to that value is then committed and visible, and objects are cut
/// at it without ever skipping a record.
/// </summary>
public static class StagingSequence
{
    private const long LockKey = 0x43_4C_53_54_41_47_45; // "CLSTAGE"

    /// <summary>Called first in every staging transaction.</summary>
    public static async Task LockSharedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock_shared(@key)", connection, transaction);
        command.Parameters.AddWithValue("key", LockKey);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The highest staging number below which every record is visible.</summary>
    public static async Task<long> SafeHighAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT pg_advisory_lock(@key);
            SELECT COALESCE(last_value, 0) FROM pg_sequences WHERE schemaname = current_schema() AND sequencename = 'staged_records_seq_seq';
            SELECT pg_advisory_unlock(@key);
            """, connection);
        command.Parameters.AddWithValue("key", LockKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        var high = await reader.ReadAsync(cancellationToken) ? reader.GetInt64(0) : 0;
        await reader.NextResultAsync(cancellationToken);
        return high;
    }
}
