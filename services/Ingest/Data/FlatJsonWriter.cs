using System.Buffers;
using System.Text.Json;
using CallLogs.Contracts;

namespace CallLogs.Ingest.Data;

/// <summary>
/// Writes records' flat JSON (<see cref="CallRecordFields.ToFlatJson"/>), the form ingest stores them in, as UTF-8, one
/// after the other, into one reused buffer: for writing many records without a string each.
/// </summary>
public sealed class FlatJsonWriter : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _writer;

    public FlatJsonWriter() => _writer = new Utf8JsonWriter(_buffer);

    /// <summary>The record's flat JSON; valid until the next call.</summary>
    public ReadOnlyMemory<byte> Write(CallRecord record)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        CallRecordFields.WriteFlatJson(_writer, record);
        return _buffer.WrittenMemory;
    }

    public void Dispose() => _writer.Dispose();
}
