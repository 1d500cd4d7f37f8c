using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using CallLogs.ServiceDefaults.Errors;

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

    private static readonly FrozenDictionary<string, int> ColumnIndex =
        TextColumns.Select((name, i) => KeyValuePair.Create(name, i)).ToFrozenDictionary();

    private static readonly int[] Required = [ColumnIndex["eventtype"], ColumnIndex["uniqueid"], ColumnIndex["linkedid"]];
    private static readonly int EventTimeColumn = ColumnIndex["eventtime"];

    /// <summary>The way Asterisk's CEL writes event times; anything else goes through the general (slower) parse.</summary>
    private const string AsteriskTime = "yyyy-MM-dd HH:mm:ss.ffffff";

    public static (CelRow? Row, List<string> Errors) Parse(JsonElement row, DateTimeOffset latest)
    {
        var errors = new List<string>();
        if (row.ValueKind != JsonValueKind.Object)
        {
            return (null, ["a CEL row must be a JSON object of Asterisk CEL columns"]);
        }

        // One pass over the row's properties; a column given twice counts once, with its last value.
        var values = new JsonElement[TextColumns.Length];
        JsonElement idValue = default, ama = default;
        foreach (var property in row.EnumerateObject())
        {
            var name = property.Name;
            if (ColumnIndex.TryGetValue(name, out var column))
            {
                values[column] = property.Value;
            }
            else if (name == "id")
            {
                idValue = property.Value;
            }
            else if (name == "amaflags")
            {
                ama = property.Value;
            }
        }

        var text = new string[TextColumns.Length];
        for (var column = 0; column < TextColumns.Length; column++)
        {
            var value = values[column];
            if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                text[column] = "";
                continue;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                errors.Add($"{TextColumns[column]}: must be a string");
                continue;
            }

            var s = value.GetString()!;
            var max = TextColumns[column] is "extra" or "appdata" ? MaxLongText : MaxText;
            if (StorableText.Problem(s, allowControls: true) is { } problem)
            {
                errors.Add($"{TextColumns[column]}: {problem}");
            }
            else if (s.Length > max)
            {
                errors.Add($"{TextColumns[column]}: at most {max} characters");
            }
            else
            {
                text[column] = s;
            }
        }

        long id = 0;
        if (!(idValue.ValueKind == JsonValueKind.Number ? idValue.TryGetInt64(out id)
                : idValue.ValueKind == JsonValueKind.String && long.TryParse(idValue.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out id))
            || id <= 0)
        {
            errors.Add("id: required, a positive integer (the CEL row id; a resent row with the same id is ignored)");
        }

        var amaFlags = 0;
        if (ama.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null)
            && !(ama.ValueKind == JsonValueKind.Number ? ama.TryGetInt32(out amaFlags)
                : ama.ValueKind == JsonValueKind.String && int.TryParse(ama.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out amaFlags)))
        {
            errors.Add("amaflags: must be an integer");
        }

        foreach (var required in Required)
        {
            if (text[required] is { Length: 0 })
            {
                errors.Add($"{TextColumns[required]}: required");
            }
        }

        DateTimeOffset eventTime = default;
        if (text[EventTimeColumn] is { } time)
        {
            const DateTimeStyles utc = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
            if (!DateTimeOffset.TryParseExact(time, AsteriskTime, CultureInfo.InvariantCulture, utc, out eventTime)
                && !DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, utc, out eventTime))
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

        string T(string column) => text[ColumnIndex[column]];
        return (new CelRow
        {
            Id = id, EventType = T("eventtype"), EventTime = eventTime, UserDefType = T("userdeftype"),
            CidName = T("cid_name"), CidNum = T("cid_num"), CidAni = T("cid_ani"), CidRdnis = T("cid_rdnis"),
            CidDnid = T("cid_dnid"), Exten = T("exten"), Context = T("context"), ChanName = T("channame"),
            AppName = T("appname"), AppData = T("appdata"), AmaFlags = amaFlags, AccountCode = T("accountcode"),
            PeerAccount = T("peeraccount"), UniqueId = T("uniqueid"), LinkedId = T("linkedid"),
            UserField = T("userfield"), Peer = T("peer"), Extra = T("extra"),
        }, errors);
    }

    /// <summary>The id a rejected row claims, to name it in the answer, when it has a readable one.</summary>
    public static long? ClaimedId(JsonElement row) =>
        row.ValueKind == JsonValueKind.Object && row.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var v) ? v : null;
}
