using Npgsql;

namespace CallLogs.ServiceDefaults.Data;

public static class UniqueViolation
{
    /// <summary>
    /// Whether PostgreSQL refused a row because a unique index holds its key already (SQLSTATE 23505), raised by Npgsql
    /// itself or wrapped by EF Core in a <c>DbUpdateException</c>. A unique index is how a service keeps a rule that
    /// concurrent requests could break between a check and an insert (one trail per area, one enabled token per channel),
    /// so this is the answer the caller gets a 409 for, or the repeat a store skips.
    /// </summary>
    public static bool IsUniqueViolation(this Exception exception) =>
        (exception as PostgresException ?? exception.InnerException as PostgresException)?.SqlState == PostgresErrorCodes.UniqueViolation;
}
