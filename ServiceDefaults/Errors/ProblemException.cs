using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace CallLogs.ServiceDefaults.Errors;

/// <summary>
/// Every refusal a handler decides itself (not found, conflict, a value only it can check): thrown, and written as RFC 9457
/// ProblemDetails by <see cref="ProblemExceptionHandler"/>. Request bodies and queries are checked before the handler runs
/// (<see cref="ValidationFilter"/>).
/// </summary>
public sealed class ProblemException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;

    /// <summary>Field → messages: the answer is a ValidationProblem like the one of <see cref="ValidationFilter"/>.</summary>
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }

    /// <summary>Members added to the ProblemDetails beside status, title and detail.</summary>
    public IReadOnlyDictionary<string, object?>? Extensions { get; init; }

    public static ProblemException Conflict(string detail) => new(StatusCodes.Status409Conflict, "The request conflicts with the current state.", detail);
    public static ProblemException NotFound(string detail) => new(StatusCodes.Status404NotFound, "Not found.", detail);
    public static ProblemException NotFound(string title, string detail) => new(StatusCodes.Status404NotFound, title, detail);

    /// <summary>A value the handler checks itself (a route value, the caller's token): a 400 naming <paramref name="field"/>.</summary>
    public static ProblemException Invalid(string field, string message) =>
        new(StatusCodes.Status400BadRequest, ProblemExceptionHandler.ValidationTitle, ProblemExceptionHandler.ValidationDetail)
        {
            Errors = new Dictionary<string, string[]> { [field] = [message] },
        };

    /// <summary>How long a 503's client should wait before it repeats the request (<c>Retry-After</c>; 5 s when not set).</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>A 503 the client may repeat: the answer carries <c>Retry-After</c>.</summary>
    public static ProblemException Unavailable(string title, string detail, TimeSpan? retryAfter = null) =>
        new(StatusCodes.Status503ServiceUnavailable, title, detail) { RetryAfter = retryAfter };

    public ProblemDetails ToProblemDetails()
    {
        var problem = Errors is { } errors
            ? new HttpValidationProblemDetails(errors.ToDictionary()) { Status = Status, Title = Title, Detail = Message }
            : new ProblemDetails { Status = Status, Title = Title, Detail = Message };
        foreach (var (name, value) in Extensions ?? new Dictionary<string, object?>())
        {
            problem.Extensions[name] = value;
        }

        return problem;
    }
}
