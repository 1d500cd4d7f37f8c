using CallLogs.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CallLogs.ServiceDefaults.Tests;

/// <summary>How failures become answers: a database that is away is worth a retry (503), however the failure is wrapped.</summary>
public sealed class ProblemExceptionHandlerTests
{
    [Fact]
    public async Task A_database_unreachable_shutting_down_or_starting_is_a_503_with_Retry_After_even_when_wrapped()
    {
        Exception[] failures =
        [
            new NpgsqlException("Exception while reading from stream", new IOException("Connection reset by peer")),
            new InvalidOperationException("An exception has been raised that is likely due to a transient failure.", new NpgsqlException("Timeout", new TimeoutException())),
            new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown),
            new DbUpdateException("An error occurred while saving the entity changes.", new PostgresException("the database system is starting up", "FATAL", "FATAL", PostgresErrorCodes.CannotConnectNow)),
        ];

        foreach (var failure in failures)
        {
            var (status, retryAfter) = await HandleAsync(failure);
            Assert.True(status == StatusCodes.Status503ServiceUnavailable, $"{failure.GetType().Name} ({failure.Message}) answered {status}");
            Assert.Equal("5", retryAfter);
        }
    }

    [Fact]
    public async Task Anything_else_unexpected_is_a_500_without_Retry_After()
    {
        var (status, retryAfter) = await HandleAsync(new InvalidOperationException("a bug", new PostgresException("syntax error", "ERROR", "ERROR", PostgresErrorCodes.SyntaxError)));

        Assert.Equal(StatusCodes.Status500InternalServerError, status);
        Assert.Null(retryAfter);
    }

    private static async Task<(int Status, string? RetryAfter)> HandleAsync(Exception failure)
    {
        await using var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();
        var handler = new ProblemExceptionHandler(services.GetRequiredService<IProblemDetailsService>(), NullLogger<ProblemExceptionHandler>.Instance);
        Assert.True(await handler.TryHandleAsync(context, failure, CancellationToken.None));
        return (context.Response.StatusCode, context.Response.Headers.RetryAfter.FirstOrDefault());
    }
}
