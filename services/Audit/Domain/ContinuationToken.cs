using System.Buffers.Binary;
using CallLogs.ServiceDefaults;

namespace CallLogs.Audit.Domain;

/// <summary>Where a lookup page ended: the last event's time and insertion order. Opaque to callers (<see cref="OpaqueToken"/>).</summary>
public readonly record struct ContinuationToken(DateTimeOffset EventTime, long Seq)
{
    public string Encode()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteInt64BigEndian(bytes, EventTime.UtcTicks);
        BinaryPrimitives.WriteInt64BigEndian(bytes[8..], Seq);
        return OpaqueToken.Encode(bytes);
    }

    public static bool TryDecode(string? token, out ContinuationToken value)
    {
        value = default;
        if (!OpaqueToken.TryDecode(token, out var bytes) || bytes.Length != 16)
        {
            return false;
        }

        var ticks = BinaryPrimitives.ReadInt64BigEndian(bytes);
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }

        value = new ContinuationToken(new DateTimeOffset(ticks, TimeSpan.Zero), BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(8)));
        return true;
    }
}
