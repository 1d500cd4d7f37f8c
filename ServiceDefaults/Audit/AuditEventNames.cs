using System.Text;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// Names read from a route. Every endpoint under <c>/api</c> carries its event name (<c>.WithName("CreateExportProfile")</c>,
/// checked at start by <see cref="EndpointNameCheck"/>); <see cref="Derive"/> names only a call that reached no endpoint
/// (an unknown path, a method its route does not take), from its method and path, the way an endpoint would be named:
/// <c>POST /api/areas/{areaId}/export-profiles</c> is <c>CreateExportProfile</c>, <c>GET .../export-profiles/{profileId}</c>
/// <c>GetExportProfile</c>, <c>GET .../export-profiles</c> <c>ListExportProfiles</c> and <c>POST .../tokens/{tokenId}/rotate</c>
/// <c>RotateToken</c>.
/// </summary>
public static class AuditEventNames
{
    public static string Derive(string method, string routePattern)
    {
        var segments = routePattern.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Where(s => !string.Equals(s, "api", StringComparison.OrdinalIgnoreCase))
            .Select(s => (Text: s, IsParameter: s.StartsWith('{')))
            .ToList();
        var verb = method.ToUpperInvariant();
        if (segments.Count == 0)
        {
            return Pascal(verb.ToLowerInvariant()) + "Api";
        }

        var last = segments[^1];
        var previousLiteral = segments.Take(segments.Count - 1).LastOrDefault(s => !s.IsParameter).Text;
        if (last.IsParameter)
        {
            var resource = Singular(Pascal(previousLiteral ?? ParameterName(last.Text)));
            return verb switch
            {
                "GET" or "HEAD" => "Get",
                "PUT" or "PATCH" => "Update",
                "DELETE" => "Delete",
                "POST" => "Create",
                _ => Pascal(verb.ToLowerInvariant()),
            } + resource;
        }

        var literal = Pascal(last.Text);
        var afterParameter = segments.Count >= 2 && segments[^2].IsParameter;
        if (verb == "POST" && afterParameter && !last.Text.EndsWith('s') && previousLiteral is not null)
        {
            // An action on one item: POST /tokens/{id}/rotate.
            return literal + Singular(Pascal(previousLiteral));
        }

        return verb switch
        {
            "GET" or "HEAD" => "List" + literal,
            "POST" => "Create" + Singular(literal),
            "PUT" or "PATCH" => "Update" + literal,
            "DELETE" => "Delete" + literal,
            _ => Pascal(verb.ToLowerInvariant()) + literal,
        };
    }

    /// <summary>
    /// The kind of resource a route parameter names, from the collection it stands in, so the same resource has the same
    /// kind on every route and in every service: <c>export-profiles/{profileId}</c> is <c>ExportProfile</c>,
    /// <c>areas/{areaId}</c> <c>Area</c>, and a collection under a fixed part of its owner is named with it:
    /// <c>stream-channel/tokens/{tokenId}</c> is <c>StreamChannelToken</c>, <c>telephony/users/{uuid}</c> <c>TelephonyUser</c>.
    /// A parameter that follows no collection is named after itself (<c>{widgetId}</c> is <c>Widget</c>).
    /// </summary>
    public static string ParameterResourceType(string routePattern, string parameter)
    {
        var segments = Segments(routePattern);
        var index = segments.FindIndex(s => s.IsParameter && ParameterName(s.Text) == parameter);
        if (index > 0 && !segments[index - 1].IsParameter)
        {
            return TypeOfLiteral(segments, index - 1);
        }

        return Pascal(parameter.EndsWith("Id", StringComparison.Ordinal) && parameter.Length > 2 ? parameter[..^2] : parameter);
    }

    /// <summary>
    /// The kind of resource a creating call makes, from the route's last part (<c>POST .../stream-channel/tokens</c>
    /// makes a <c>StreamChannelToken</c>), or null when the route ends in a parameter or in an action on a collection
    /// (<c>call-logs/generate</c>).
    /// </summary>
    public static string? CreatedResourceType(string routePattern)
    {
        var segments = Segments(routePattern);
        if (segments.Count == 0 || segments[^1].IsParameter)
        {
            return null;
        }

        if (segments.Count > 1 && !segments[^2].IsParameter && IsPlural(segments[^2].Text) && !IsPlural(segments[^1].Text))
        {
            return null;
        }

        return TypeOfLiteral(segments, segments.Count - 1);
    }

    private static string TypeOfLiteral(List<(string Text, bool IsParameter)> segments, int index)
    {
        var name = Singular(Pascal(segments[index].Text));
        return index > 0 && !segments[index - 1].IsParameter ? Singular(Pascal(segments[index - 1].Text)) + name : name;
    }

    private static List<(string Text, bool IsParameter)> Segments(string routePattern) =>
        routePattern.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Where(s => !string.Equals(s, "api", StringComparison.OrdinalIgnoreCase))
            .Select(s => (Text: s, IsParameter: s.StartsWith('{')))
            .ToList();

    private static bool IsPlural(string segment) => segment.EndsWith('s') && !segment.EndsWith("ss", StringComparison.Ordinal);

    private static string ParameterName(string parameter) => parameter.Trim('{', '}').TrimStart('*').Split(':', '=', '?')[0];

    private static string Singular(string pascal) =>
        pascal.EndsWith("ies", StringComparison.Ordinal) ? pascal[..^3] + "y"
        : pascal.EndsWith("sses", StringComparison.Ordinal) ? pascal[..^2]
        : pascal.EndsWith('s') ? pascal[..^1]
        : pascal;

    private static string Pascal(string segment)
    {
        var builder = new StringBuilder(segment.Length);
        var upper = true;
        foreach (var c in segment)
        {
            if (c is '-' or '_' or '.')
            {
                upper = true;
                continue;
            }

            builder.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }

        return builder.ToString();
    }
}
