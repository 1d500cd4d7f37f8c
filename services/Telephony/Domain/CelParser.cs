using System.Globalization;
using System.Text.Json;

namespace CallLogs.Telephony.Domain;

/// <summary>
/// One CEL row as the PBX sends it (a JSON object of Asterisk CEL columns) checked before it reaches the database:
/// every problem of the row is listed, naming the column and what to send instead. Pure: the accepted time range is
/// given.
/// </summary>
public static class CelParser
{
    /// <summary>Longest text of a column; extra and appdata carry JSON and dialplan arguments.</summary>
    public const int MaxText = 1024;
    public const int MaxLongText = 16 * 1024;

    /// <summary>The earliest event time accepted: nothing older is a CEL row of a running PBX.</summary>
    public static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly string[] TextColumns =
    [
        "userdeftype", "cid_name", "cid_num", "cid_ani", "cid_rdnis", "cid_dnid", "exten", "context", "channame", "appname",
        "appdata", "accountcode", "peeraccount", "userfield", "peer", "extra", "eventtype", "eventtime", "uniqueid", "linkedid",
    ];

    private static readonly string[] Required = ["eventtype", "uniqueid", "linkedid"];

    public static (CelRow? Row, List<string> Errors) Parse(JsonElement row, DateTimeOffset latest)
    {
        var errors = new List<string>();
        if (row.ValueKind != JsonValueKind.Object)
        {
            return (null, ["a CEL row must be a JSON object of Asterisk CEL columns"]);
        }

        var text = new Dictionary<string, string>(TextColumns.Length);
        foreach (var column in TextColumns)
        {
            if (!row.TryGetProperty(column, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                text[column] = "";
                continue;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                errors.Add($"{column}: must be a string");
                continue;
            }

            var s = value.GetString()!;
            var max = column is "extra" or "appdata" ? MaxLongText : MaxText;
            if (!StorableText.IsStorable(s))
            {
                errors.Add($"{column}: {StorableText.Problem}");
            }
            else if (s.Length > max)
            {
                errors.Add($"{column}: at most {max} characters");
            }
            else
            {
                text[column] = s;
            }
        }

        long id = 0;
        if (!row.TryGetProperty("id", out var idValue)
            || !(idValue.ValueKind == JsonValueKind.Number ? idValue.TryGetInt64(out id)
                : idValue.ValueKind == JsonValueKind.String && long.TryParse(idValue.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out id))
            || id <= 0)
        {
            errors.Add("id: required, a positive integer (the CEL row id; a resent row with the same id is ignored)");
        }

        var amaFlags = 0;
        if (row.TryGetProperty("amaflags", out var ama) && ama.ValueKind != JsonValueKind.Null
            && !(ama.ValueKind == JsonValueKind.Number ? ama.TryGetInt32(out amaFlags)
                : ama.ValueKind == JsonValueKind.String && int.TryParse(ama.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out amaFlags)))
        {
            errors.Add("amaflags: must be an integer");
        }

        foreach (var required in Required)
        {
            if (text.TryGetValue(required, out var v) && v.Length == 0)
            {
                errors.Add($"{required}: required");
            }
        }

        DateTimeOffset eventTime = default;
        if (text.TryGetValue("eventtime", out var time))
        {
            if (!DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out eventTime))
            {
                errors.Add("eventtime: required, a date and time (ISO 8601 or 'YYYY-MM-DD HH:MM:SS.ffffff', UTC when no offset)");
            }
            else if (eventTime < Earliest || eventTime > latest)
            {
                errors.Add($"eventtime: must be between {Earliest:yyyy-MM-dd} and now (the PBX clock may be ahead by a few minutes at most); got {eventTime:O}");
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new CelRow
        {
            Id = id, EventType = text["eventtype"], EventTime = eventTime, UserDefType = text["userdeftype"],
            CidName = text["cid_name"], CidNum = text["cid_num"], CidAni = text["cid_ani"], CidRdnis = text["cid_rdnis"],
            CidDnid = text["cid_dnid"], Exten = text["exten"], Context = text["context"], ChanName = text["channame"],
            AppName = text["appname"], AppData = text["appdata"], AmaFlags = amaFlags, AccountCode = text["accountcode"],
            PeerAccount = text["peeraccount"], UniqueId = text["uniqueid"], LinkedId = text["linkedid"],
            UserField = text["userfield"], Peer = text["peer"], Extra = text["extra"],
        }, errors);
    }

    /// <summary>The id a rejected row claims, to name it in the answer, when it has a readable one.</summary>
    public static long? ClaimedId(JsonElement row) =>
        row.ValueKind == JsonValueKind.Object && row.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var v) ? v : null;
}
