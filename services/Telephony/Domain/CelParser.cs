using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CallLogs.ServiceDefaults.Errors;

namespace CallLogs.Telephony.Domain;

/// <summary>
/// CEL rows as the PBX sends them (a JSON array of objects of Asterisk CEL columns) checked before they reach the
/// database: every problem of a row is listed, naming the column and what to send instead, and a bad row refuses only
/// itself. One forward pass over the UTF-8 body, with no document or element per value. Pure: the accepted time range
/// is given.
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

    /// <summary>Where a property goes: a text column's index, or one of these.</summary>
    private const int OtherProperty = -1, IdProperty = -2, AmaFlagsProperty = -3;

    private static readonly FrozenDictionary<string, int> PropertyIndex = TextColumns.Select((name, i) => KeyValuePair.Create(name, i))
        .Append(KeyValuePair.Create("id", IdProperty)).Append(KeyValuePair.Create("amaflags", AmaFlagsProperty)).ToFrozenDictionary();

    private static readonly FrozenDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> PropertyOfName =
        PropertyIndex.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Longer than every column's name, so a longer property name is none of them.</summary>
    private const int LongestName = 16;

    private static readonly int[] Required = [PropertyIndex["eventtype"], PropertyIndex["uniqueid"], PropertyIndex["linkedid"]];
    private static readonly int EventTimeColumn = PropertyIndex["eventtime"];

    /// <summary>The way Asterisk's CEL writes event times; anything else goes through the general (slower) parse.</summary>
    private const string AsteriskTime = "yyyy-MM-dd HH:mm:ss.ffffff";

    /// <param name="Index">Position of the row in the posted array.</param>
    /// <param name="Id">The id the row claims, when it has a readable one.</param>
    public sealed record RefusedRow(int Index, long? Id, IReadOnlyList<string> Errors);

    /// <summary>The accepted and the refused rows of a body, or why the body is no batch of rows (<see cref="Problem"/>).</summary>
    public sealed record Batch(List<CelRow> Rows, List<RefusedRow> Refused, string? Problem);

    /// <summary>
    /// Reads a body that should be a JSON array of at most <paramref name="maxRows"/> CEL rows. JSON that is not well
    /// formed throws <see cref="JsonException"/>.
    /// </summary>
    public static Batch ParseBatch(ReadOnlySpan<byte> json, DateTimeOffset latest, int maxRows)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return new Batch([], [], "Send a JSON array of CEL rows (objects of Asterisk CEL columns).");
        }

        var rows = new List<CelRow>();
        var refused = new List<RefusedRow>();
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (index == maxRows)
            {
                return new Batch([], [], $"At most {maxRows} CEL rows per request; send the rest in further requests.");
            }

            var (row, errors, claimedId) = ReadRow(ref reader, latest);
            if (row is null)
            {
                refused.Add(new RefusedRow(index, claimedId, errors));
            }
            else
            {
                rows.Add(row);
            }

            index++;
        }

        reader.Read(); // throws on anything but whitespace after the array
        return new Batch(rows, refused, null);
    }

    /// <summary>Reads the row that starts at the reader's token and leaves the reader on the row's last token.</summary>
    private static (CelRow? Row, List<string> Errors, long? ClaimedId) ReadRow(ref Utf8JsonReader reader, DateTimeOffset latest)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return (null, ["a CEL row must be a JSON object of Asterisk CEL columns"], null);
        }

        // One pass over the row's properties; a column given twice counts once, with its last value.
        var values = new string?[TextColumns.Length];
        var kinds = new ValueKind[TextColumns.Length];
        long? claimedId = null;
        var (id, idValid) = (0L, false);
        var (amaFlags, amaValid) = (0, true);
        Span<char> name = stackalloc char[LongestName];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = PropertyOf(ref reader, name);
            reader.Read();
            var token = reader.TokenType;
            switch (property)
            {
                case >= 0:
                    values[property] = token == JsonTokenType.String ? TextOf(ref reader) : null;
                    kinds[property] = token switch
                    {
                        JsonTokenType.Null => ValueKind.Text,
                        JsonTokenType.String => values[property] is null ? ValueKind.Unreadable : ValueKind.Text,
                        _ => ValueKind.NotText,
                    };
                    break;
                case IdProperty:
                    claimedId = token == JsonTokenType.Number && reader.TryGetInt64(out var claimed) ? claimed : null;
                    idValid = (token == JsonTokenType.Number ? reader.TryGetInt64(out id)
                        : token == JsonTokenType.String && long.TryParse(TextOf(ref reader), NumberStyles.None, CultureInfo.InvariantCulture, out id)) && id > 0;
                    break;
                case AmaFlagsProperty:
                    amaFlags = 0;
                    amaValid = token == JsonTokenType.Null || (token == JsonTokenType.Number ? reader.TryGetInt32(out amaFlags)
                        : token == JsonTokenType.String && int.TryParse(TextOf(ref reader), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out amaFlags));
                    break;
            }

            reader.Skip(); // the value of an object or array; nothing for a single value
        }

        var errors = new List<string>();
        var text = new string?[TextColumns.Length];
        for (var column = 0; column < TextColumns.Length; column++)
        {
            if (kinds[column] != ValueKind.Text)
            {
                errors.Add(kinds[column] == ValueKind.NotText
                    ? $"{TextColumns[column]}: must be a string"
                    : $"{TextColumns[column]}: must be text (it holds bytes that are not UTF-8, or an unpaired surrogate)");
                continue;
            }

            if (values[column] is not { } s)
            {
                text[column] = "";
                continue;
            }

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

        if (!idValid)
        {
            errors.Add("id: required, a positive integer (the CEL row id; a resent row with the same id is ignored)");
        }

        if (!amaValid)
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
            return (null, errors, claimedId);
        }

        string T(string column) => text[PropertyIndex[column]]!;
        return (new CelRow
        {
            Id = id, EventType = T("eventtype"), EventTime = eventTime, UserDefType = T("userdeftype"),
            CidName = T("cid_name"), CidNum = T("cid_num"), CidAni = T("cid_ani"), CidRdnis = T("cid_rdnis"),
            CidDnid = T("cid_dnid"), Exten = T("exten"), Context = T("context"), ChanName = T("channame"),
            AppName = T("appname"), AppData = T("appdata"), AmaFlags = amaFlags, AccountCode = T("accountcode"),
            PeerAccount = T("peeraccount"), UniqueId = T("uniqueid"), LinkedId = T("linkedid"),
            UserField = T("userfield"), Peer = T("peer"), Extra = T("extra"),
        }, errors, claimedId);
    }

    /// <summary>Which property the reader's property name is, without making a string of the usual short, unescaped name.</summary>
    private static int PropertyOf(ref Utf8JsonReader reader, scoped Span<char> buffer)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence && reader.ValueSpan.Length <= buffer.Length)
        {
            var length = Encoding.UTF8.GetChars(reader.ValueSpan, buffer);
            return PropertyOfName.TryGetValue(buffer[..length], out var known) ? known : OtherProperty;
        }

        return TextOf(ref reader) is { } text && PropertyIndex.TryGetValue(text, out var property) ? property : OtherProperty;
    }

    /// <summary>The string at the reader, or null when it is no text (bytes that are not UTF-8, an unpaired surrogate escape).</summary>
    private static string? TextOf(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>What a text column's (last) value was; absent and null count as empty text.</summary>
    private enum ValueKind : byte { Text, NotText, Unreadable }
}
