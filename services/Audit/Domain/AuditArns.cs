using System.Text;

namespace CallLogs.Audit.Domain;

/// <summary>
/// How the trail names our resources and callers, in CloudTrail's forms (docs/audit-trail.md lists them):
/// <list type="bullet">
/// <item>resource type <c>CallLogs::&lt;Service&gt;::&lt;Kind&gt;</c>, e.g. <c>CallLogs::Profile::ExportProfile</c>, the same on every
/// route and in every service's events (the service is the one that owns the kind, not the one that was called);</item>
/// <item>resource ARN <c>arn:calllogs:&lt;service&gt;:&lt;region&gt;:&lt;area id&gt;:&lt;kind-in-kebab-case&gt;/&lt;id&gt;</c>, e.g.
/// <c>arn:calllogs:profile:eu-west-1:6f1f…:export-profile/0b3c…</c>;</item>
/// <item>caller ARN <c>arn:calllogs:sts::&lt;area id or platform&gt;:assumed-role/&lt;Role&gt;/&lt;user name&gt;</c>, its role
/// <c>arn:calllogs:iam::&lt;area id or platform&gt;:role/&lt;Role&gt;</c>.</item>
/// </list>
/// The account of CloudTrail is the area; calls that belong to no area have the account <c>platform</c>.
/// </summary>
public static class AuditArns
{
    public const string Partition = "calllogs";

    /// <summary>The service that owns each kind of resource; a kind not listed belongs to the service that was called.</summary>
    private static readonly Dictionary<string, string> Owners = new(StringComparer.Ordinal)
    {
        ["Area"] = "profile",
        ["ExportProfile"] = "profile",
        ["ExportStatus"] = "export",
        ["ReExport"] = "export",
        ["StreamChannel"] = "stream",
        ["StreamChannelToken"] = "stream",
        ["AuditTrail"] = "audit",
        ["AuditEvent"] = "audit",
        ["CallRecord"] = "ingest",
        ["CallRecordRetention"] = "ingest",
    };

    /// <summary>Kinds that events of earlier versions named after the route parameter.</summary>
    private static readonly Dictionary<string, string> Earlier = new(StringComparer.Ordinal)
    {
        ["profile"] = "ExportProfile",
        ["token"] = "StreamChannelToken",
        ["channel"] = "StreamChannel",
    };

    /// <summary>The kind in PascalCase (<c>ExportProfile</c>) of what an event names; earlier events' kebab-case kinds are converted.</summary>
    public static string Kind(string type)
    {
        if (Earlier.TryGetValue(type, out var renamed))
        {
            return renamed;
        }

        if (!type.Contains('-', StringComparison.Ordinal) && type.Length > 0 && char.IsUpper(type[0]))
        {
            return type;
        }

        var builder = new StringBuilder(type.Length);
        var upper = true;
        foreach (var c in type)
        {
            if (c is '-' or '_')
            {
                upper = true;
                continue;
            }

            builder.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }

        return builder.ToString();
    }

    public static string OwnerService(string kind, string eventSource) =>
        Owners.TryGetValue(kind, out var owner) ? owner
        : kind.StartsWith("Telephony", StringComparison.Ordinal) ? "telephony"
        : eventSource;

    /// <summary><c>CallLogs::Profile::ExportProfile</c>.</summary>
    public static string ResourceType(string kind, string eventSource) =>
        $"CallLogs::{Pascal(OwnerService(kind, eventSource))}::{kind}";

    /// <summary><c>arn:calllogs:profile:eu-west-1:&lt;area&gt;:export-profile/&lt;id&gt;</c>.</summary>
    public static string Resource(string kind, string eventSource, string region, string account, string id) =>
        $"arn:{Partition}:{OwnerService(kind, eventSource)}:{region}:{account}:{Kebab(kind)}/{id}";

    public static string AssumedRole(string account, string role, string session) => $"arn:{Partition}:sts::{account}:assumed-role/{role}/{session}";

    public static string Role(string account, string role) => $"arn:{Partition}:iam::{account}:role/{role}";

    private static string Kebab(string kind)
    {
        var builder = new StringBuilder(kind.Length + 4);
        foreach (var c in kind)
        {
            if (char.IsUpper(c) && builder.Length > 0)
            {
                builder.Append('-');
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }

    private static string Pascal(string service) => service.Length == 0 ? "Unknown" : char.ToUpperInvariant(service[0]) + service[1..];
}
