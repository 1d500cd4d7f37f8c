using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql;

namespace CallLogs.Telephony.Data;

/// <summary>
/// Writes entities by PostgreSQL binary COPY, column by column as the DbContext's model maps them (names, store types,
/// value conversions): the model stays the one mapping of a CEL row or a call log, and bulk writes skip the change
/// tracker and one INSERT per row. Runs on the context's connection, in its current transaction.
/// </summary>
public static class BulkCopy
{
    public static async Task<ulong> CopyAsync<T>(DbContext db, IEnumerable<T> items, Func<T, string, object?>? shadowValue, CancellationToken ct)
        where T : class
    {
        var columns = Columns<T>(db);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await db.Database.OpenConnectionAsync(ct);
        }

        var entity = db.Model.FindEntityType(typeof(T))!;
        var names = string.Join(", ", columns.Select(c => $"\"{c.Column}\""));
        await using var import = await connection.BeginBinaryImportAsync($"COPY \"{entity.GetTableName()}\" ({names}) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var item in items)
        {
            import.StartRow();
            foreach (var column in columns)
            {
                var value = column.Getter is null ? shadowValue?.Invoke(item, column.Name) : column.Getter.GetClrValue(item);
                if (value is not null && column.Converter is not null)
                {
                    value = column.Converter.ConvertToProvider(value);
                }

                if (value is null)
                {
                    import.WriteNull();
                }
                else
                {
                    column.Write(import, value);
                }
            }
        }

        return await import.CompleteAsync(ct);
    }

    private sealed record MappedColumn(string Name, string Column, IClrPropertyGetter? Getter,
        Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter? Converter, Action<NpgsqlBinaryImporter, object> Write);

    private static readonly System.Reflection.MethodInfo TypedWriter = typeof(BulkCopy).GetMethod(nameof(Writer), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;

    /// <summary>A writer of one column's provider type: Npgsql resolves its converter once per column, not once per value.</summary>
    private static Action<NpgsqlBinaryImporter, object> Writer<TValue>(string storeType) => (import, value) => import.Write((TValue)value, storeType);

    private static List<MappedColumn> Columns<T>(DbContext db)
    {
        var entity = db.Model.FindEntityType(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not mapped.");
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        return entity.GetProperties().Select(p =>
        {
            var converter = p.GetTypeMapping().Converter;
            var providerType = Nullable.GetUnderlyingType(converter?.ProviderClrType ?? p.ClrType) ?? converter?.ProviderClrType ?? p.ClrType;
            var write = (Action<NpgsqlBinaryImporter, object>)TypedWriter.MakeGenericMethod(providerType).Invoke(null, [p.GetColumnType()])!;
            return new MappedColumn(p.Name, p.GetColumnName(table)!, p.IsShadowProperty() ? null : p.GetGetter(), converter, write);
        }).ToList();
    }
}
