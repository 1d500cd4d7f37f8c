using System.Text;
using System.Text.Json.Nodes;

namespace CallLogs.Audit.Domain;

/// <summary>
/// Event history as CSV (RFC 4180, UTF-8): the columns of the lookup's attributes, then the whole record as JSON. A cell
/// that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is written with a leading apostrophe,
/// so a user agent or a name a caller chose cannot become one.
/// </summary>
public static class EventCsv
{
    public static readonly string[] Columns =
    [
        "eventID", "eventTime", "eventSource", "eventName", "awsRegion", "userIdentityType", "userName", "accessKeyId", "accountId",
        "sourceIPAddress", "userAgent", "readOnly", "errorCode", "errorMessage", "httpStatusCode", "resourceTypes", "resourceARNs",
        "recipientAccountId", "record",
    ];

    public static async Task WriteAsync(Stream output, IAsyncEnumerable<string> records, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(output, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        var line = new StringBuilder(2048);
        CallLogs.Contracts.Csv.AppendRow(line, Columns);
        await writer.WriteAsync(line, cancellationToken);
        await foreach (var record in records.WithCancellation(cancellationToken))
        {
            line.Clear();
            CallLogs.Contracts.Csv.AppendRow(line, Row(record).Select(Safe));
            await writer.WriteAsync(line, cancellationToken);
        }
    }

    public static IEnumerable<string?> Row(string record)
    {
        var r = JsonNode.Parse(record)!.AsObject();
        var identity = r["userIdentity"] as JsonObject;
        var resources = r["resources"] as JsonArray ?? [];
        return
        [
            Text(r["eventID"]), Text(r["eventTime"]), Text(r["eventSource"]), Text(r["eventName"]), Text(r["awsRegion"] ?? r["region"]),
            Text(identity?["type"]), Text(identity?["userName"]), Text(identity?["accessKeyId"]), Text(identity?["accountId"] ?? identity?["areaId"]),
            Text(r["sourceIPAddress"]), Text(r["userAgent"]), Text(r["readOnly"]), Text(r["errorCode"]), Text(r["errorMessage"]),
            Text(r["additionalEventData"]?["httpStatusCode"] ?? r["httpStatusCode"]),
            string.Join(' ', resources.Select(x => Text(x?["type"]))), string.Join(' ', resources.Select(x => Text(x?["ARN"] ?? x?["name"]))),
            Text(r["recipientAccountId"] ?? r["recipientAreaId"]), record,
        ];
    }

    private static string? Text(JsonNode? node) => node switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    private static string? Safe(string? cell) =>
        cell is { Length: > 0 } && cell[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + cell : cell;
}
