using System.Text;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// The operation name of a call when its endpoint has no name (<c>.WithName("CreateExportProfile")</c>): derived
/// from the method and the route pattern, so <c>POST /api/areas/{areaId}/export-profiles</c> is
/// <c>CreateExportProfile</c>, <c>GET .../export-profiles/{profileId}</c> <c>GetExportProfile</c>, <c>GET
/// .../export-profiles</c> <c>ListExportProfiles</c> and <c>POST .../tokens/{tokenId}/rotate</c> <c>RotateToken</c>.
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

    /// <summary>The resource type of a route value: <c>exportProfileId</c> is <c>export-profile</c>.</summary>
    public static string ResourceType(string routeValueName)
    {
        var name = routeValueName.EndsWith("Id", StringComparison.Ordinal) ? routeValueName[..^2] : routeValueName;
        var builder = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsUpper(c) && builder.Length > 0)
            {
                builder.Append('-');
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }

    /// <summary>The resource type a collection segment holds: <c>export-profiles</c> is <c>export-profile</c>.</summary>
    public static string SingularSegment(string segment) =>
        segment.EndsWith("ies", StringComparison.Ordinal) ? segment[..^3] + "y"
        : segment.EndsWith("sses", StringComparison.Ordinal) ? segment[..^2]
        : segment.EndsWith('s') ? segment[..^1]
        : segment;

    private static string ParameterName(string parameter) => parameter.Trim('{', '}').Split(':', '=', '?')[0];

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
