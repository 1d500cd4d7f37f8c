using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace CallLogs.Telephony.Data;

/// <summary>
/// PostgreSQL advisory locks that keep telephony work of one area from overlapping across instances:
/// <list type="bullet">
/// <item>a run lock, held on its own connection for a whole regeneration, deletion, purge or nightly run: a second run
/// of the same area is refused while one runs;</item>
/// <item>a write lock, taken in every transaction that writes call logs (real-time intake and each chunk of a run), so
/// two writers never replace the same call at once.</item>
/// </list>
/// Locks are keyed by a hash of the area id: two areas that collide only wait for each other.
/// </summary>
public sealed class AreaLocks(NpgsqlDataSource dataSource)
{
    private const int RunLock = 0x7E1E_0001;
    private const int WriteLock = 0x7E1E_0002;
    private const int NightlyLock = 0x7E1E_0003;

    public static int Key(Guid areaId)
    {
        Span<byte> bytes = stackalloc byte[16];
        areaId.TryWriteBytes(bytes);
        var parts = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes);
        return parts[0] ^ parts[1] ^ parts[2] ^ parts[3];
    }

    /// <summary>The run lock of an area, or null when another run of it holds it. Dispose to release.</summary>
    public Task<IAsyncDisposable?> TryRunAsync(Guid areaId, CancellationToken ct) => TryAsync(RunLock, Key(areaId), ct);

    /// <summary>The one nightly run of all instances, or null when another instance runs it.</summary>
    public Task<IAsyncDisposable?> TryNightlyAsync(CancellationToken ct) => TryAsync(NightlyLock, 0, ct);

    /// <summary>
    /// Begins a transaction of <paramref name="db"/> and waits for the write lock of an area, held until it ends.
    /// <paramref name="settings"/> (<c>SET LOCAL</c> statements) go in the same round trip.
    /// </summary>
    public static async Task<IDbContextTransaction> BeginWritingAsync(DbContext db, Guid areaId, string settings, CancellationToken ct)
    {
        var transaction = await db.Database.BeginTransactionAsync(ct);
        await db.Database.ExecuteSqlAsync(FormattableStringFactory.Create(settings + "; SELECT pg_advisory_xact_lock({0}, {1})", WriteLock, Key(areaId)), ct);
        return transaction;
    }

    private async Task<IAsyncDisposable?> TryAsync(int kind, int key, CancellationToken ct)
    {
        var connection = await dataSource.OpenConnectionAsync(ct);
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@kind, @key)", connection);
            command.Parameters.AddWithValue("kind", kind);
            command.Parameters.AddWithValue("key", key);
            if (await command.ExecuteScalarAsync(ct) is true)
            {
                return new Held(connection, kind, key);
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return null;
    }

    private sealed class Held(NpgsqlConnection connection, int kind, int key) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(@kind, @key)", connection);
                command.Parameters.AddWithValue("kind", kind);
                command.Parameters.AddWithValue("key", key);
                await command.ExecuteScalarAsync(CancellationToken.None);
            }
            finally
            {
                // should the unlock fail, the pool resets the session (DISCARD ALL) before reuse, which releases it
                await connection.DisposeAsync();
            }
        }
    }
}
