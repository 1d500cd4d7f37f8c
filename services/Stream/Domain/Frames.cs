using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CallLogs.Contracts;

namespace CallLogs.Stream.Domain;

/// <summary>
/// The text frame subscribers get: <c>{"data":[{...},...]}</c> with every value written as a JSON string, the
/// fields the platform knows (ingestion_time among them) and the ones it does not, as the gateway sent them.
/// </summary>
public static class Frames
{
    /// <summary>An unknown field's object or array as compact JSON, its characters as they are (the frame escapes what it must).</summary>
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Data(IReadOnlyList<CallRecord> records, int? maskKeep)
    {
        var buffer = new ArrayBufferWriterStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("data");
            foreach (var record in records)
            {
                writer.WriteStartObject();
                var values = maskKeep is { } keep ? Masking.MaskRecord(CallRecordFields.Values(record), keep) : CallRecordFields.Values(record);
                for (var i = 0; i < values.Length; i++)
                {
                    var name = CallRecordFields.Names[i];
                    if (values[i] is not { } value)
                    {
                        continue;
                    }

                    writer.WriteString(name, value);
                }

                foreach (var (name, value) in record.Extra ?? [])
                {
                    var text = value.ValueKind switch
                    {
                        JsonValueKind.String => value.GetString(),
                        // Compact whatever the whitespace of the message that carried it.
                        JsonValueKind.Object or JsonValueKind.Array => JsonSerializer.Serialize(value, Compact),
                        _ => value.GetRawText(),
                    };
                    writer.WriteString(name, maskKeep is { } n ? Masking.MaskEmbedded(text, record.ApiKey, record.OauthAccessToken, n) : text);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Told to a subscriber whose buffer overflowed, in order, where the gap is: <c>{"missed":N,"request_uuids":[...]}</c>,
    /// how many records it missed and which (their request_uuid), between the frame before the gap and the one after.
    /// </summary>
    public static string Missed(IReadOnlyList<string> requestUuids)
    {
        var buffer = new ArrayBufferWriterStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("missed", requestUuids.Count);
            writer.WriteStartArray("request_uuids");
            foreach (var uuid in requestUuids)
            {
                writer.WriteStringValue(uuid);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private sealed class ArrayBufferWriterStream : MemoryStream
    {
        public ReadOnlySpan<byte> WrittenSpan => GetBuffer().AsSpan(0, (int)Length);
    }
}
