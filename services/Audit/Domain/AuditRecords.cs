using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallLogs.Contracts;

namespace CallLogs.Audit.Domain;

/// <summary>The record of an event in the trail, with CloudTrail's field names, and the log file that carries records.</summary>
public static class AuditRecords
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static JsonObject ToRecord(AuditEventRecorded e) => new()
    {
        ["eventVersion"] = e.EventVersion,
        ["userIdentity"] = new JsonObject
        {
            ["type"] = e.UserIdentity.Type,
            ["principalId"] = e.UserIdentity.PrincipalId,
            ["userName"] = e.UserIdentity.UserName,
            ["areaId"] = e.UserIdentity.AreaId?.ToString("D"),
            ["accessKeyId"] = e.UserIdentity.AccessKeyId,
        },
        ["eventTime"] = e.EventTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
        ["eventSource"] = e.EventSource,
        ["eventName"] = e.EventName,
        ["region"] = e.Region,
        ["sourceIPAddress"] = e.SourceIpAddress,
        ["userAgent"] = e.UserAgent,
        ["requestParameters"] = e.RequestParameters?.DeepClone(),
        ["responseElements"] = e.ReadOnly ? null : e.ResponseElements?.DeepClone(),
        ["errorCode"] = e.ErrorCode,
        ["errorMessage"] = e.ErrorMessage,
        ["requestID"] = e.RequestId,
        ["eventID"] = e.EventId.ToString("D"),
        ["readOnly"] = e.ReadOnly,
        ["eventType"] = e.EventType,
        ["managementEvent"] = true,
        ["eventCategory"] = "Management",
        ["httpStatusCode"] = e.HttpStatusCode,
        ["resources"] = new JsonArray(e.Resources.Select(r => (JsonNode)new JsonObject { ["type"] = r.Type, ["name"] = r.Name }).ToArray()),
        ["recipientAreaId"] = e.RecipientAreaId?.ToString("D"),
    };

    /// <summary>
    /// The uncompressed content of a log file: <c>{"Records":[...]}</c> with the stored records in the given order.
    /// The same records give the same bytes, so a retried upload writes the same object.
    /// </summary>
    public static byte[] LogFileContent(IEnumerable<string> records)
    {
        var builder = new StringBuilder("{\"Records\":[");
        var first = true;
        foreach (var record in records)
        {
            if (!first)
            {
                builder.Append(',');
            }

            builder.Append(record);
            first = false;
        }

        builder.Append("]}");
        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    public static string Sha256Hex(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));
}
