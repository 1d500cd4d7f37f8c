using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// Turns whatever JSON or text a request held into values every store of the trail accepts, so no request can make
/// its own event fail: PostgreSQL's <c>jsonb</c> and <c>text</c> refuse U+0000 and unpaired surrogates, <c>numeric</c>
/// refuses huge exponents, and a JSON object cannot hold a key twice. Such characters become U+FFFD (and are counted),
/// such numbers are kept as their text, a repeated key gets a <c>#2</c> suffix, and values nested deeper than
/// <see cref="MaxDepth"/> are replaced by a note. Everything else is kept as sent.
/// </summary>
public sealed class AuditJson
{
    /// <summary>Levels of a request or response body kept in the event; deeper values are summarised.</summary>
    public const int MaxDepth = 24;

    /// <summary>Longest number kept as a number; a longer one is kept as text.</summary>
    private const int MaxNumberLength = 64;

    /// <summary>How many characters were replaced in everything this instance cleaned.</summary>
    public int ReplacedCharacters { get; private set; }

    /// <summary>A clean copy of <paramref name="json"/>, or null when it is not one complete JSON value.</summary>
    public JsonNode? Parse(ReadOnlySpan<byte> json)
    {
        // Deeper than the service itself would accept (64 levels), so whatever it took is recorded.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            MaxDepth = 1024,
            AllowTrailingCommas = true,
            CommentHandling = JsonCommentHandling.Skip,
        });
        try
        {
            if (!reader.Read())
            {
                return null;
            }

            var node = ReadValue(ref reader, 0);
            return reader.Read() ? null : node;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The text with U+0000 and unpaired surrogates replaced by U+FFFD.</summary>
    public string? Text(string? value)
    {
        if (value is null)
        {
            return null;
        }

        StringBuilder? builder = null;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var bad = c == '\0'
                || char.IsHighSurrogate(c) && (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                || char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(value[i - 1]));
            if (bad)
            {
                builder ??= new StringBuilder(value, 0, i, value.Length);
                builder.Append('\uFFFD');
                ReplacedCharacters++;
            }
            else
            {
                builder?.Append(c);
            }
        }

        return builder?.ToString() ?? value;
    }

    private JsonNode? ReadValue(ref Utf8JsonReader reader, int depth)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                if (depth >= MaxDepth)
                {
                    reader.Skip();
                    return TooDeep();
                }

                var obj = new JsonObject();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = Text(StringOf(ref reader))!;
                    var key = name;
                    for (var n = 2; obj.ContainsKey(key); n++)
                    {
                        key = string.Create(CultureInfo.InvariantCulture, $"{name}#{n}");
                    }

                    reader.Read();
                    obj[key] = ReadValue(ref reader, depth + 1);
                }

                return obj;
            case JsonTokenType.StartArray:
                if (depth >= MaxDepth)
                {
                    reader.Skip();
                    return TooDeep();
                }

                var array = new JsonArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    array.Add(ReadValue(ref reader, depth + 1));
                }

                return array;
            case JsonTokenType.String:
                return JsonValue.Create(Text(StringOf(ref reader)));
            case JsonTokenType.Number:
                var raw = Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
                if (raw.Length <= MaxNumberLength && reader.TryGetDecimal(out var exact))
                {
                    return JsonValue.Create(exact);
                }

                return raw.Length <= MaxNumberLength && double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                    && double.IsFinite(number) && Math.Abs(number) < 1e300
                    ? JsonValue.Create(number)
                    : JsonValue.Create(raw.Length <= MaxNumberLength ? raw : raw[..MaxNumberLength] + "…");
            case JsonTokenType.True:
                return JsonValue.Create(true);
            case JsonTokenType.False:
                return JsonValue.Create(false);
            default:
                return null;
        }
    }

    private static JsonObject TooDeep() => new() { ["nestedTooDeep"] = true, ["maxDepth"] = MaxDepth };

    /// <summary>A string token; one whose escapes name unpaired surrogates is decoded by hand (<see cref="Text"/> then replaces them).</summary>
    private static string StringOf(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            var raw = Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
            return Unescape(raw);
        }
    }

    /// <summary>JSON string escapes decoded without validation.</summary>
    private static string Unescape(string escaped)
    {
        var builder = new StringBuilder(escaped.Length);
        for (var i = 0; i < escaped.Length; i++)
        {
            if (escaped[i] != '\\' || i + 1 >= escaped.Length)
            {
                builder.Append(escaped[i]);
                continue;
            }

            var c = escaped[++i];
            switch (c)
            {
                case 'u' when i + 4 < escaped.Length
                    && ushort.TryParse(escaped.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code):
                    builder.Append((char)code);
                    i += 4;
                    break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                default: builder.Append(c); break;
            }
        }

        return builder.ToString();
    }
}
