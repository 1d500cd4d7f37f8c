using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallLogs.ServiceDefaults.Errors;

/// <summary>
/// Refuses, before any endpoint runs, a request whose path or query string holds text that cannot be stored
/// (<see cref="StorableText"/>): a <c>%00</c> in a filter is a 400 naming the parameter, never a database error.
/// Covers endpoints that read the query themselves as well as bound parameters.
/// </summary>
public sealed class RequestTextGuard(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var errors = new Dictionary<string, string[]>();
        if (context.Request.Path.Value is { } path && StorableText.Problem(path) is { } pathProblem)
        {
            errors["path"] = [$"The path {pathProblem}."];
        }

        if (context.Request.QueryString.HasValue)
        {
            foreach (var (name, values) in context.Request.Query)
            {
                if (StorableText.Problem(name) is { } nameProblem)
                {
                    errors["query"] = [$"A query parameter name {nameProblem}."];
                    continue;
                }

                foreach (var value in values)
                {
                    if (value is not null && StorableText.Problem(value) is { } problem)
                    {
                        errors[name] = [$"'{name}' {problem}."];
                        break;
                    }
                }
            }
        }

        if (errors.Count == 0)
        {
            await next(context);
            return;
        }

        await TypedResults.ValidationProblem(errors, title: ProblemExceptionHandler.ValidationTitle,
            detail: ProblemExceptionHandler.ValidationDetail).ExecuteAsync(context);
    }
}
