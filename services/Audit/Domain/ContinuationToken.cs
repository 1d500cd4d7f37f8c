using System.Buffers.Binary;
using Microsoft.AspNetCore.WebUtilities;

namespace CallLogs.Audit.Domain;

/// <summary>Where a lookup page ended: the last event's time and insertion order. Opaque to callers (base64url).</summary>
public readonly record struct ContinuationToken(DateTimeOffset EventTime, long Seq)
{
    public string Encode()
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteInt64BigEndian(bytes, EventTime.UtcTicks);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(8), Seq);
        return WebEncoders.Base64UrlEncode(bytes);
    }

    public static bool TryDecode(string? token, out ContinuationToken value)
    {
        value = default;
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }

        try
        {
            var bytes = WebEncoders.Base64UrlDecode(token);
            if (bytes.Length != 16)
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
        catch (FormatException)
        {
            return false;
        }
    }
}
