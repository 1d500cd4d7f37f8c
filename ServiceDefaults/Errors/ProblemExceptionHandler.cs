using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentValidation;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CallLogs.ServiceDefaults.Errors;

/// <summary>
/// The one place exceptions become RFC 9457 ProblemDetails. Bad input names the field and the fix;
/// anything unexpected is a 500 that tells nothing of the internals.
/// </summary>
public sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            ValidationException v => Validation(v.Errors.GroupBy(e => ToCamelCase(e.PropertyName))
                .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).ToArray())),
            BadHttpRequestException { InnerException: JsonException json } => Validation(new Dictionary<string, string[]>
            {
                [JsonFieldName(json.Path)] = [$"The value is not valid JSON for this field: {FirstLine(json.Message)}"],
            }),
            BadHttpRequestException bad => new ProblemDetails
            {
                Status = bad.StatusCode,
                Title = "The request is not valid.",
                Detail = BindingFailure().Replace(bad.Message, m => m.Groups[1].Value + ToCamelCase(m.Groups[2].Value) + "\" from"),
            },
            ProblemException { Status: StatusCodes.Status503ServiceUnavailable } p => RetryAfter(context, p.ToProblemDetails(), p.RetryAfter),
            ProblemException p => p.ToProblemDetails(),
            // Safety nets: text that slipped past the edge checks is still bad input, not a server fault.
            PostgresException { SqlState: PostgresErrorCodes.CharacterNotInRepertoire or PostgresErrorCodes.UntranslatableCharacter or PostgresErrorCodes.InvalidTextRepresentation }
                or EncoderFallbackException => new ProblemDetails
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The request holds text that cannot be stored.",
                Detail = "A value contains a NUL character, an unpaired surrogate or another character that cannot be stored. Send valid UTF-8 text without control characters.",
            },
            // Also when EF Core or another layer wrapped it (a lost connection while PostgreSQL restarts, a transaction that could not begin).
            _ when IsTransientDatabaseFailure(exception) && !context.RequestAborted.IsCancellationRequested => Unavailable(context, "The database"),
            TimeoutException when !context.RequestAborted.IsCancellationRequested => Unavailable(context, "A service this request needs"),
            OperationCanceledException when context.RequestAborted.IsCancellationRequested => null,
            _ => null,
        };

        if (problem is null)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                return true;
            }

            LogUnhandled(logger, exception, context.Request.Method, context.Request.Path);
            problem = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "An unexpected error occurred.",
                Detail = "The request was not completed. Try again; if it keeps failing, report the traceId.",
            };
        }

        context.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    public const string ValidationTitle = "One or more fields are not valid.";
    public const string ValidationDetail = "Correct the fields listed in 'errors' and send the request again.";

    private static ProblemDetails Unavailable(HttpContext context, string what) => RetryAfter(context, new ProblemDetails
    {
        Status = StatusCodes.Status503ServiceUnavailable,
        Title = "The service is temporarily unavailable.",
        Detail = $"{what} could not be reached, so nothing was changed. Send the same request again after the Retry-After delay.",
    });

    private static ProblemDetails RetryAfter(HttpContext context, ProblemDetails problem, TimeSpan? after = null)
    {
        context.Response.Headers.RetryAfter = ((int)Math.Ceiling((after ?? TimeSpan.FromSeconds(5)).TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return problem;
    }

    private static HttpValidationProblemDetails Validation(IDictionary<string, string[]> errors) => new(errors)
    {
        Status = StatusCodes.Status400BadRequest,
        Title = ValidationTitle,
        Detail = ValidationDetail,
    };

    /// <summary>The database unreachable, shutting down or starting (in <paramref name="exception"/> or what it wraps): worth a retry.</summary>
    private static bool IsTransientDatabaseFailure(Exception exception) =>
        exception is NpgsqlException { IsTransient: true }
            or PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow }
        || (exception.InnerException is { } inner && IsTransientDatabaseFailure(inner));

    private static string JsonFieldName(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "body" : path.TrimStart('$', '.');

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    /// <summary>A property path as clients write it (<c>Encryption.IamRoleArn</c> → <c>encryption.iamRoleArn</c>).</summary>
    public static string ToCamelCase(string name) =>
        string.IsNullOrEmpty(name) ? "body" : string.Join('.', name.Split('.').Select(p => p.Length == 0 ? p : char.ToLowerInvariant(p[0]) + p[1..]));

    /// <summary>
    /// The framework's <c>Failed to bind parameter "int? Limit" from ...</c>: a query record's property is named as
    /// clients write it (<c>limit</c>), like a plain parameter.
    /// </summary>
    [GeneratedRegex("^(Failed to bind parameter \"[^\"]* )([A-Za-z0-9_]+)\" from")]
    private static partial Regex BindingFailure();

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
