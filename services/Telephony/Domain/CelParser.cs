using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
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

    /// <summary>The text columns by position in <see cref="TextColumns"/> (checked once, when the type is first used).</summary>
    private enum Column
    {
        UserDefType, CidName, CidNum, CidAni, CidRdnis, CidDnid, Exten, Context, ChanName, AppName,
        AppData, AccountCode, PeerAccount, UserField, Peer, Extra, EventType, EventTime, UniqueId, LinkedId,
    }

    static CelParser()
    {
        if (TextColumns.Where((name, i) => name.Replace("_", "", StringComparison.Ordinal) != ((Column)i).ToString().ToLowerInvariant()).Any()
            || TextColumns.Length != Enum.GetValues<Column>().Length)
        {
            throw new InvalidOperationException("CelParser.Column must list TextColumns in the same order.");
        }
    }

    /// <summary>Where a property goes: a text column's index, or one of these.</summary>
    private const int OtherProperty = -1, IdProperty = -2, AmaFlagsProperty = -3;

    private static readonly FrozenDictionary<string, int> PropertyIndex = TextColumns.Select((name, i) => KeyValuePair.Create(name, i))
        .Append(KeyValuePair.Create("id", IdProperty)).Append(KeyValuePair.Create("amaflags", AmaFlagsProperty)).ToFrozenDictionary();

    private static readonly FrozenDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> PropertyOfName =
        PropertyIndex.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Longer than every column's name, so a longer property name is none of them.</summary>
    private const int LongestName = 16;

    private static readonly Column[] Required = [Column.EventType, Column.UniqueId, Column.LinkedId];

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
        var scratch = new RowScratch();
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (index == maxRows)
            {
                return new Batch([], [], $"At most {maxRows} CEL rows per request; send the rest in further requests.");
            }

            var (row, errors, claimedId) = ReadRow(ref reader, latest, scratch);
            if (row is null)
            {
                refused.Add(new RefusedRow(index, claimedId, errors!));
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

    /// <summary>
    /// What reading a batch reuses from row to row: the columns' values, and the batch's short texts. A batch repeats
    /// most of its texts (event types, contexts, names, and each channel's uniqueid and linkedid in every row of the
    /// call), so each distinct one becomes a string once.
    /// </summary>
    private sealed class RowScratch
    {
        /// <summary>Texts up to this many UTF-8 bytes are shared; longer ones (extra, appdata) are rarely repeated.</summary>
        public const int MaxSharedBytes = 64;

        /// <summary>A hostile batch of distinct texts stops being remembered here (and is read as usual).</summary>
        private const int MaxShared = 16_384;

        public readonly string?[] Values = new string?[TextColumns.Length];
        public readonly ValueKind[] Kinds = new ValueKind[TextColumns.Length];
        private readonly Dictionary<string, string> _shared = [];

        public void Clear()
        {
            Array.Clear(Values);
            Array.Clear(Kinds);
        }

        /// <summary>The string of these characters, the same instance each time the batch repeats them.</summary>
        public string Share(ReadOnlySpan<char> text)
        {
            if (text.IsEmpty)
            {
                return "";
            }

            if (_shared.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out var known))
            {
                return known;
            }

            var made = text.ToString();
            if (_shared.Count < MaxShared)
            {
                _shared.Add(made, made);
            }

            return made;
        }
    }

    /// <summary>Reads the row that starts at the reader's token and leaves the reader on the row's last token.</summary>
    private static (CelRow? Row, List<string>? Errors, long? ClaimedId) ReadRow(ref Utf8JsonReader reader, DateTimeOffset latest, RowScratch scratch)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return (null, ["a CEL row must be a JSON object of Asterisk CEL columns"], null);
        }

        // One pass over the row's properties; a column given twice counts once, with its last value.
        scratch.Clear();
        var (values, kinds) = (scratch.Values, scratch.Kinds);
        DateTimeOffset? asteriskTime = null; // an eventtime in Asterisk's own form, read straight from the bytes
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
                case (int)Column.EventTime when token == JsonTokenType.String && AsteriskTimeOf(ref reader) is { } asterisk:
                    (asteriskTime, values[property], kinds[property]) = (asterisk, "", ValueKind.Text);
                    break;
                case >= 0:
                    asteriskTime = property == (int)Column.EventTime ? null : asteriskTime;
                    values[property] = token == JsonTokenType.String ? TextOf(ref reader, scratch) : null;
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

        // the values become the row's text, checked in place: absent and null are empty text; not text, or refused, null
        List<string>? errors = null;
        for (var column = 0; column < TextColumns.Length; column++)
        {
            if (kinds[column] != ValueKind.Text)
            {
                Add(ref errors, kinds[column] == ValueKind.NotText
                    ? $"{TextColumns[column]}: must be a string"
                    : $"{TextColumns[column]}: must be text (it holds bytes that are not UTF-8, or an unpaired surrogate)");
                continue;
            }

            if (values[column] is not { } s)
            {
                values[column] = "";
                continue;
            }

            var max = (Column)column is Column.Extra or Column.AppData ? MaxLongText : MaxText;
            if (StorableText.Problem(s, allowControls: true) is { } problem)
            {
                Add(ref errors, $"{TextColumns[column]}: {problem}");
                values[column] = null;
            }
            else if (s.Length > max)
            {
                Add(ref errors, $"{TextColumns[column]}: at most {max} characters");
                values[column] = null;
            }
        }

        if (!idValid)
        {
            Add(ref errors, "id: required, a positive integer (the CEL row id; a resent row with the same id is ignored)");
        }

        if (!amaValid)
        {
            Add(ref errors, "amaflags: must be an integer");
        }

        foreach (var required in Required)
        {
            if (values[(int)required] is { Length: 0 })
            {
                Add(ref errors, $"{TextColumns[(int)required]}: required");
            }
        }

        var eventTime = asteriskTime ?? default;
        if (values[(int)Column.EventTime] is { } time)
        {
            const DateTimeStyles utc = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
            if (asteriskTime is null && !TryParseAsteriskTime(time, out eventTime) && !DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, utc, out eventTime))
            {
                Add(ref errors, "eventtime: required, a date and time (ISO 8601 or 'YYYY-MM-DD HH:MM:SS.ffffff', UTC when no offset)");
            }
            else if (eventTime < Earliest || eventTime > latest)
            {
                Add(ref errors, $"eventtime: must be between {Earliest:yyyy-MM-dd} and now (the PBX clock may be ahead by a few minutes at most); got {eventTime:O}");
            }
        }

        if (errors is not null)
        {
            return (null, errors, claimedId);
        }

        string T(Column column) => values[(int)column]!;
        return (new CelRow
        {
            Id = id, EventType = T(Column.EventType), EventTime = eventTime, UserDefType = T(Column.UserDefType),
            CidName = T(Column.CidName), CidNum = T(Column.CidNum), CidAni = T(Column.CidAni), CidRdnis = T(Column.CidRdnis),
            CidDnid = T(Column.CidDnid), Exten = T(Column.Exten), Context = T(Column.Context), ChanName = T(Column.ChanName),
            AppName = T(Column.AppName), AppData = T(Column.AppData), AmaFlags = amaFlags, AccountCode = T(Column.AccountCode),
            PeerAccount = T(Column.PeerAccount), UniqueId = T(Column.UniqueId), LinkedId = T(Column.LinkedId),
            UserField = T(Column.UserField), Peer = T(Column.Peer), Extra = T(Column.Extra),
        }, null, claimedId);
    }

    private static void Add(ref List<string>? errors, string error) => (errors ??= []).Add(error);

    /// <summary>
    /// The way Asterisk's CEL writes event times, <c>YYYY-MM-DD HH:MM:SS.ffffff</c> in UTC, read without the general
    /// parser (which costs about as much as the rest of the row); false for anything else, which the general parse reads.
    /// </summary>
    internal static bool TryParseAsteriskTime(ReadOnlySpan<char> text, out DateTimeOffset time)
    {
        time = default;
        if (text.Length != 26 || text[4] != '-' || text[7] != '-' || text[10] != ' ' || text[13] != ':' || text[16] != ':' || text[19] != '.')
        {
            return false;
        }

        if (!Digits(text[..4], out var year) || !Digits(text.Slice(5, 2), out var month) || !Digits(text.Slice(8, 2), out var day)
            || !Digits(text.Slice(11, 2), out var hour) || !Digits(text.Slice(14, 2), out var minute) || !Digits(text.Slice(17, 2), out var second)
            || !Digits(text[20..], out var microseconds))
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        time = new DateTimeOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).AddTicks(microseconds * TimeSpan.TicksPerMicrosecond));
        return true;

        static bool Digits(ReadOnlySpan<char> digits, out int value)
        {
            value = 0;
            foreach (var c in digits)
            {
                if (!char.IsAsciiDigit(c))
                {
                    return false;
                }

                value = value * 10 + (c - '0');
            }

            return true;
        }
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

    /// <summary>The eventtime at the reader when it is in Asterisk's form, unescaped, without making a string of it.</summary>
    private static DateTimeOffset? AsteriskTimeOf(ref Utf8JsonReader reader)
    {
        const int length = 26;
        if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length != length)
        {
            return null;
        }

        Span<char> chars = stackalloc char[length];
        return Utf8.ToUtf16(reader.ValueSpan, chars, out _, out var written) == OperationStatus.Done && written == length
            && TryParseAsteriskTime(chars, out var time) ? time : null;
    }

    /// <summary>
    /// <see cref="TextOf(ref Utf8JsonReader)"/>, a short unescaped text shared with its repeats in the batch, transcoded
    /// with the same strictness (bytes that are not UTF-8 are no text).
    /// </summary>
    private static string? TextOf(ref Utf8JsonReader reader, RowScratch scratch)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > RowScratch.MaxSharedBytes)
        {
            return TextOf(ref reader);
        }

        Span<char> chars = stackalloc char[RowScratch.MaxSharedBytes];
        return Utf8.ToUtf16(reader.ValueSpan, chars, out _, out var written, replaceInvalidSequences: false) == OperationStatus.Done
            ? scratch.Share(chars[..written])
            : null;
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
