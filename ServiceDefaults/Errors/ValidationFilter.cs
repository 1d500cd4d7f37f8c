using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Claims;
using FluentValidation;
using FluentValidation.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace CallLogs.ServiceDefaults.Errors;

/// <summary>
/// The one validation path of every endpoint: each argument a handler receives from the request (route, query, header,
/// body) has its text checked by <see cref="StorableText"/>, then its FluentValidation validator run when one is
/// registered. Any failure is a 400 ValidationProblem naming each field and the fix, and the handler never runs, so
/// nothing reaches PostgreSQL or the bus. <see cref="Auth.AreaAccess"/> adds it to every authorised endpoint.
/// </summary>
public static class ValidationFilter
{
    private const int MaxDepth = 8;
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> TextProperties = new();

    public static TBuilder WithValidation<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            if (!endpoint.Metadata.OfType<ValidatedMarker>().Any())
            {
                endpoint.Metadata.Add(ValidatedMarker.Instance);
                endpoint.FilterFactories.Add((context, next) => Create(context, next, endpoint.Metadata));
            }
        });
        return builder;
    }

    /// <summary>The validators of this endpoint also run these rule sets (beside the default rules), e.g. rules only a create has.</summary>
    public static TBuilder WithValidationRuleSets<TBuilder>(this TBuilder builder, params string[] ruleSets) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ValidationRuleSets(["default", .. ruleSets]));

    private static EndpointFilterDelegate Create(EndpointFilterFactoryContext context, EndpointFilterDelegate next, IList<object> metadata)
    {
        var ruleSets = metadata.OfType<ValidationRuleSets>().LastOrDefault()?.Names ?? ["default"];
        var isService = context.ApplicationServices.GetService<IServiceProviderIsService>();
        var nullability = new NullabilityInfoContext();
        var checks = context.MethodInfo.GetParameters()
            .Select((parameter, index) => (Parameter: parameter, Index: index,
                Required: !parameter.ParameterType.IsValueType && parameter.ParameterType != typeof(string)
                    && nullability.Create(parameter).WriteState == NullabilityState.NotNull))
            .Where(p => FromRequest(p.Parameter, isService))
            .ToArray();
        if (checks.Length == 0)
        {
            return next;
        }

        return async invocation =>
        {
            var errors = new Dictionary<string, List<string>>();
            foreach (var (parameter, index, required) in checks)
            {
                if (invocation.Arguments[index] is not { } value)
                {
                    // A body of JSON null binds as null even where the handler needs a value.
                    if (required)
                    {
                        Add(errors, "body", "The body must be a JSON object with the fields of this request, not null.");
                    }

                    continue;
                }

                var name = parameter.Name ?? "value";
                var isBody = value is not string && !value.GetType().IsValueType;
                CheckText(value, isBody ? "" : name, errors, 0);
                if (errors.Count == 0 && invocation.HttpContext.RequestServices.GetService(typeof(IValidator<>).MakeGenericType(value.GetType())) is IValidator validator)
                {
                    var result = await validator.ValidateAsync(
                        new ValidationContext<object>(value, new PropertyChain(), new RulesetValidatorSelector(ruleSets)), invocation.HttpContext.RequestAborted);
                    foreach (var failure in result.Errors)
                    {
                        Add(errors, ProblemExceptionHandler.ToCamelCase(failure.PropertyName), failure.ErrorMessage);
                    }
                }
            }

            return errors.Count == 0
                ? await next(invocation)
                : TypedResults.ValidationProblem(errors.ToDictionary(e => e.Key, e => e.Value.ToArray()),
                    detail: ProblemExceptionHandler.ValidationDetail, title: ProblemExceptionHandler.ValidationTitle);
        };
    }

    /// <summary>Arguments bound from the request: not the context, the caller, a cancellation token or a service.</summary>
    private static bool FromRequest(ParameterInfo parameter, IServiceProviderIsService? isService)
    {
        var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        if (type == typeof(HttpContext) || type == typeof(HttpRequest) || type == typeof(HttpResponse) || type == typeof(CancellationToken)
            || type == typeof(ClaimsPrincipal) || type == typeof(IFormFile) || type == typeof(IFormFileCollection) || type == typeof(Stream))
        {
            return false;
        }

        if (type == typeof(string) || type == typeof(string[]))
        {
            return true;
        }

        return !type.IsValueType && !type.IsInterface && type.Namespace?.StartsWith("System", StringComparison.Ordinal) != true
            && isService?.IsService(type) != true;
    }

    /// <summary>Every string in the value (properties of records and elements of lists, a few levels deep).</summary>
    private static void CheckText(object? value, string path, Dictionary<string, List<string>> errors, int depth)
    {
        switch (value)
        {
            case null:
                return;
            case string text:
                if (StorableText.Problem(text) is { } problem)
                {
                    var field = path.Length == 0 ? "body" : path;
                    Add(errors, field, $"'{field}' {problem}.");
                }

                return;
            case IEnumerable items when depth < MaxDepth && value is not IDictionary:
                var i = 0;
                foreach (var item in items)
                {
                    CheckText(item, $"{path}[{i++}]", errors, depth + 1);
                }

                return;
            case IDictionary map when depth < MaxDepth:
                foreach (DictionaryEntry entry in map)
                {
                    CheckText(entry.Key as string, $"{path}.{entry.Key}", errors, depth + 1);
                    CheckText(entry.Value, $"{path}.{entry.Key}", errors, depth + 1);
                }

                return;
        }

        var type = value.GetType();
        if (depth >= MaxDepth || type.IsPrimitive || type.IsEnum || type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true)
        {
            return;
        }

        foreach (var property in TextProperties.GetOrAdd(type, Readable))
        {
            var name = ProblemExceptionHandler.ToCamelCase(property.Name);
            CheckText(property.GetValue(value), path.Length == 0 ? name : $"{path}.{name}", errors, depth + 1);
        }
    }

    private static PropertyInfo[] Readable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0).ToArray();

    private static void Add(Dictionary<string, List<string>> errors, string field, string message)
    {
        if (!errors.TryGetValue(field, out var list))
        {
            errors[field] = list = [];
        }

        list.Add(message);
    }

    private sealed record ValidationRuleSets(string[] Names);

    private sealed class ValidatedMarker
    {
        public static readonly ValidatedMarker Instance = new();
    }
}
