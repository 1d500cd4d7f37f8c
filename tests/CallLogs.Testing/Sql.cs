using Npgsql;

namespace CallLogs.Testing;

/// <summary>
/// One statement on a database of its own connection, outside any pool: what tests run to set up a case or read what a
/// service stored, without leaving an idle session behind (a test may drop the database or end its sessions later).
/// </summary>
public static class Sql
{
    public static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The first column of the first row as a number: a count, a maximum.</summary>
    public static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    /// <summary>
    /// The tables of the database (every schema but PostgreSQL's own) with a row whose text holds <paramref name="text"/>
    /// anywhere (as text, or as the hex of its UTF-8 in a byte column), as <c>schema.table</c>: where a secret would be
    /// stored in clear.
    /// </summary>
    public static async Task<IReadOnlyList<string>> TablesHoldingAsync(string connectionString, string text)
    {
        await using var connection = await OpenAsync(connectionString);
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
            connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var holding = new List<string>();
        foreach (var table in tables)
        {
            // A byte column's text is hex: the text is looked for as hex too (an LZ4 body keeps a first occurrence as is).
            await using var find = new NpgsqlCommand(
                $"SELECT EXISTS (SELECT 1 FROM {table} t WHERE strpos(t::text, @text) > 0 OR strpos(t::text, encode(convert_to(@text, 'UTF8'), 'hex')) > 0)", connection);
            find.Parameters.AddWithValue("text", text);
            if ((bool)(await find.ExecuteScalarAsync())!)
            {
                holding.Add(table);
            }
        }

        return holding;
    }
}
