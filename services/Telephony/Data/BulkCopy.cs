using System.Collections.Concurrent;
using System.Linq.Expressions;
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
        var columns = Columns<T>(db.Model);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await db.Database.OpenConnectionAsync(ct);
        }

        await using var import = await connection.BeginBinaryImportAsync(columns.Copy, ct);
        foreach (var item in items)
        {
            import.StartRow();
            foreach (var column in columns.Writers)
            {
                column(import, item, shadowValue);
            }
        }

        return await import.CompleteAsync(ct);
    }

    /// <summary>Writes one column of an item: its value, a shadow value, or null.</summary>
    private delegate void ColumnWriter<T>(NpgsqlBinaryImporter import, T item, Func<T, string, object?>? shadowValue);

    private sealed record MappedColumns<T>(string Copy, ColumnWriter<T>[] Writers);

    /// <summary>An entity's COPY statement and column writers, made once per model.</summary>
    private static readonly ConcurrentDictionary<(IModel, Type), object> Mapped = new();

    private static MappedColumns<T> Columns<T>(IModel model) where T : class => (MappedColumns<T>)Mapped.GetOrAdd((model, typeof(T)), key =>
    {
        var entity = key.Item1.FindEntityType(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not mapped.");
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var properties = entity.GetProperties().ToList();
        var names = string.Join(", ", properties.Select(p => $"\"{p.GetColumnName(table)}\""));
        return new MappedColumns<T>($"COPY \"{entity.GetTableName()}\" ({names}) FROM STDIN (FORMAT BINARY)", [.. properties.Select(Writer<T>)]);
    });

    /// <summary>
    /// A column's writer. A plain property is read and written as its own type, so a value type is never boxed and
    /// Npgsql resolves the column's converter once; a shadow property (given by the caller) or one with a value
    /// conversion goes through object.
    /// </summary>
    private static ColumnWriter<T> Writer<T>(IProperty property) where T : class
    {
        var storeType = property.GetColumnType();
        var converter = property.GetTypeMapping().Converter;
        if (property.IsShadowProperty() || converter is not null || property.PropertyInfo is null)
        {
            var providerType = converter?.ProviderClrType ?? property.ClrType;
            var write = (Action<NpgsqlBinaryImporter, object>)BoxedWriter.MakeGenericMethod(Nullable.GetUnderlyingType(providerType) ?? providerType)
                .Invoke(null, [storeType])!;
            var getter = property.IsShadowProperty() ? null : property.GetGetter();
            var name = property.Name;
            return (import, item, shadowValue) =>
            {
                var value = getter is null ? shadowValue?.Invoke(item, name) : getter.GetClrValue(item);
                if (value is not null && converter is not null)
                {
                    value = converter.ConvertToProvider(value);
                }

                if (value is null)
                {
                    import.WriteNull();
                }
                else
                {
                    write(import, value);
                }
            };
        }

        // (import, item, _) => Write(import, item.Property, storeType), compiled
        var (importParameter, itemParameter) = (Expression.Parameter(typeof(NpgsqlBinaryImporter)), Expression.Parameter(typeof(T)));
        var value = Expression.Property(itemParameter, property.PropertyInfo);
        var typed = Nullable.GetUnderlyingType(property.ClrType) is { } underlying
            ? NullableWriter.MakeGenericMethod(underlying)
            : TypedWriter.MakeGenericMethod(property.ClrType);
        var call = Expression.Call(typed, importParameter, value, Expression.Constant(storeType));
        return Expression.Lambda<ColumnWriter<T>>(call, importParameter, itemParameter, Expression.Parameter(typeof(Func<T, string, object?>))).Compile();
    }

    private static readonly System.Reflection.MethodInfo BoxedWriter = Method(nameof(WriteBoxed));
    private static readonly System.Reflection.MethodInfo TypedWriter = Method(nameof(WriteTyped));
    private static readonly System.Reflection.MethodInfo NullableWriter = Method(nameof(WriteNullable));

    private static System.Reflection.MethodInfo Method(string name) =>
        typeof(BulkCopy).GetMethod(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;

    private static Action<NpgsqlBinaryImporter, object> WriteBoxed<TValue>(string storeType) => (import, value) => import.Write((TValue)value, storeType);

    private static void WriteTyped<TValue>(NpgsqlBinaryImporter import, TValue value, string storeType)
    {
        if (value is null)
        {
            import.WriteNull();
        }
        else
        {
            import.Write(value, storeType);
        }
    }

    private static void WriteNullable<TValue>(NpgsqlBinaryImporter import, TValue? value, string storeType) where TValue : struct
    {
        if (value is { } present)
        {
            import.Write(present, storeType);
        }
        else
        {
            import.WriteNull();
        }
    }
}
