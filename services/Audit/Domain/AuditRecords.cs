using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallLogs.Contracts;

namespace CallLogs.Audit.Domain;

/// <summary>
/// The record of an event in the trail: CloudTrail's record, field for field and type for type (eventVersion 1.11), so
/// tools that read CloudTrail files (Athena's CloudTrail table, SIEM parsers, jq recipes) read ours unchanged. What
/// CloudTrail has no field for (the HTTP status, the area a refused caller asked for) is in <c>additionalEventData</c>.
/// Optional fields are left out when they do not apply, as CloudTrail does.
/// </summary>
public static class AuditRecords
{
    /// <summary>The CloudTrail record format these records follow.</summary>
    public const string RecordVersion = "1.11";

    /// <summary>CloudTrail's eventType of a call to an API.</summary>
    public const string ApiCall = "AwsApiCall";

    /// <summary>The account of calls that belong to no area, and of anonymous callers.</summary>
    public const string PlatformAccount = "platform";

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static JsonObject ToRecord(AuditEventRecorded e, string areaKey)
    {
        var record = new JsonObject
        {
            ["eventVersion"] = RecordVersion,
            ["userIdentity"] = UserIdentity(e.UserIdentity),
            ["eventTime"] = Time(e.EventTime),
            ["eventSource"] = e.EventSource,
            ["eventName"] = e.EventName,
            ["awsRegion"] = e.Region,
            ["sourceIPAddress"] = e.SourceIpAddress ?? "unknown",
            ["userAgent"] = e.UserAgent ?? "",
        };
        if (e.ErrorCode is not null)
        {
            record["errorCode"] = e.ErrorCode;
            record["errorMessage"] = e.ErrorMessage ?? e.ErrorCode;
        }

        record["requestParameters"] = e.RequestParameters is { Count: > 0 } parameters ? parameters.DeepClone() : null;
        record["responseElements"] = e.ReadOnly ? null : e.ResponseElements?.DeepClone();
        var additional = e.AdditionalEventData?.DeepClone().AsObject() ?? new JsonObject();
        additional["httpStatusCode"] = e.HttpStatusCode;
        record["additionalEventData"] = additional;
        record["requestID"] = e.RequestId;
        record["eventID"] = e.EventId.ToString("D");
        record["readOnly"] = e.ReadOnly;
        var resourceAccount = RequestedArea(e)?.ToString("D") ?? areaKey;
        if (e.Resources.Count > 0)
        {
            record["resources"] = new JsonArray(e.Resources.Select(r => (JsonNode)Resource(r, e, resourceAccount)).ToArray());
        }

        record["eventType"] = ApiCall;
        record["managementEvent"] = true;
        record["recipientAccountId"] = areaKey;
        record["eventCategory"] = "Management";
        if (e.TlsDetails is { } tls)
        {
            record["tlsDetails"] = new JsonObject
            {
                ["tlsVersion"] = tls.TlsVersion,
                ["cipherSuite"] = tls.CipherSuite,
                ["clientProvidedHostHeader"] = tls.ClientProvidedHostHeader,
            };
        }

        return record;
    }

    /// <summary>The kinds and names a lookup by resource matches: the short and the full type, the id and the ARN.</summary>
    public static (string[] Types, string[] Names) LookupKeys(AuditEventRecorded e, string areaKey)
    {
        var account = RequestedArea(e)?.ToString("D") ?? areaKey;
        var types = new List<string>();
        var names = new List<string>();
        foreach (var r in e.Resources)
        {
            var kind = AuditArns.Kind(r.Type);
            types.Add(kind);
            types.Add(AuditArns.ResourceType(kind, e.EventSource));
            names.Add(r.Name);
            names.Add(Arn(r, kind, e, account));
        }

        return (types.Distinct().ToArray(), names.Distinct().ToArray());
    }

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static JsonObject UserIdentity(AuditUserIdentity identity)
    {
        if (identity.Type == "Anonymous")
        {
            return new JsonObject { ["type"] = "Unknown", ["principalId"] = "", ["accountId"] = "anonymous" };
        }

        var account = identity.AreaId?.ToString("D") ?? PlatformAccount;
        var session = identity.UserName ?? identity.PrincipalId ?? "unknown";
        var user = new JsonObject
        {
            ["type"] = "AssumedRole",
            ["principalId"] = identity.PrincipalId ?? "",
            ["arn"] = AuditArns.AssumedRole(account, identity.Type, session),
            ["accountId"] = account,
        };
        if (identity.AccessKeyId is not null)
        {
            user["accessKeyId"] = identity.AccessKeyId;
        }

        if (identity.UserName is not null)
        {
            user["userName"] = identity.UserName;
        }

        var attributes = new JsonObject();
        if (identity.TokenIssuedAt is { } issued)
        {
            attributes["creationDate"] = Time(issued);
        }

        user["sessionContext"] = new JsonObject
        {
            ["sessionIssuer"] = new JsonObject
            {
                ["type"] = "Role",
                ["principalId"] = identity.Type,
                ["arn"] = AuditArns.Role(account, identity.Type),
                ["accountId"] = account,
                ["userName"] = identity.Type,
            },
            ["attributes"] = attributes,
        };
        return user;
    }

    private static JsonObject Resource(AuditResource resource, AuditEventRecorded e, string account)
    {
        var kind = AuditArns.Kind(resource.Type);
        return new JsonObject
        {
            ["accountId"] = kind == "Area" ? resource.Name : account,
            ["type"] = AuditArns.ResourceType(kind, e.EventSource),
            ["ARN"] = Arn(resource, kind, e, account),
        };
    }

    private static string Arn(AuditResource resource, string kind, AuditEventRecorded e, string account) =>
        AuditArns.Resource(kind, e.EventSource, e.Region, kind == "Area" ? resource.Name : account, resource.Name);

    /// <summary>The area a call's route names (also for a caller refused there), which owns the resources it names.</summary>
    private static Guid? RequestedArea(AuditEventRecorded e) =>
        e.RequestParameters?["areaId"] is JsonValue value && value.TryGetValue<string>(out var text) && Guid.TryParse(text, out var area) ? area : e.RecipientAreaId;

    /// <summary>
    /// The uncompressed content of a log file: <c>{"Records":[...]}</c> with the stored records in the given order.
    /// The same records give the same bytes, so a retried upload writes the same object.
    /// </summary>
    public static async Task WriteLogFileAsync(Stream output, IAsyncEnumerable<string> records, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(output, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true);
        await writer.WriteAsync("{\"Records\":[");
        var first = true;
        await foreach (var record in records.WithCancellation(cancellationToken))
        {
            if (!first)
            {
                await writer.WriteAsync(',');
            }

            await writer.WriteAsync(record);
            first = false;
        }

        await writer.WriteAsync("]}");
    }

    public static string Sha256Hex(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));
}
