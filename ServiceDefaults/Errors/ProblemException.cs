using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace CallLogs.ServiceDefaults.Errors;

/// <summary>A refusal a handler decides on deep in its work: becomes a ProblemDetails with this status.</summary>
public sealed class ProblemException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;

    public static ProblemException Conflict(string detail) => new(StatusCodes.Status409Conflict, "The request conflicts with the current state.", detail);
    public static ProblemException NotFound(string detail) => new(StatusCodes.Status404NotFound, "Not found.", detail);

    public ProblemDetails ToProblemDetails() => new() { Status = Status, Title = Title, Detail = Message };
}
