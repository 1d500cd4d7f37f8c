using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CallLogs.Profile.Data;

internal static class DbUpdateExceptionExtensions
{
    public static bool IsUniqueViolation(this DbUpdateException exception) =>
        exception.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
}
