using System.Text;
using System.Text.Json;
using CallLogs.Contracts;

namespace CallLogs.Stream.Domain;

/// <summary>
/// The text frame subscribers get: <c>{"data":[{...},...]}</c> with every value written as a JSON string, the
/// fields the platform knows (ingestion_time among them) and the ones it does not, as the gateway sent them.
/// </summary>
public static class Frames
{
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
                var values = CallRecordFields.Values(record);
                for (var i = 0; i < values.Length; i++)
                {
                    var name = CallRecordFields.Names[i];
                    if (values[i] is not { } value)
                    {
                        continue;
                    }

                    writer.WriteString(name, maskKeep is { } keep && name is "api_key" or "oauth_access_token" ? Masking.Mask(value, keep) : value);
                }

                foreach (var (name, value) in record.Extra ?? [])
                {
                    writer.WriteString(name, value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText());
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Told to a subscriber whose buffer overflowed: how many records it missed.</summary>
    public static string Missed(long count) => $"{{\"missed\":{count}}}";

    private sealed class ArrayBufferWriterStream : MemoryStream
    {
        public ReadOnlySpan<byte> WrittenSpan => GetBuffer().AsSpan(0, (int)Length);
    }
}
