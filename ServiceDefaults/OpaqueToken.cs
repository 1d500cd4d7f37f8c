using System.Buffers.Text;
using System.Security.Cryptography;

namespace CallLogs.ServiceDefaults;

/// <summary>
/// Bytes carried in a URL or a query value as one opaque word: unpadded base64url (RFC 4648 §5), so it needs no
/// escaping. Continuation tokens of paged lookups (ingest's call records, audit's events) and stream access secrets are
/// written this way; what the bytes mean stays with their owner.
/// </summary>
public static class OpaqueToken
{
    /// <summary>The longest token read: every token written here is far shorter, so a longer one is not worth decoding.</summary>
    public const int MaxLength = 512;

    public static string Encode(ReadOnlySpan<byte> bytes) => Base64Url.EncodeToString(bytes);

    /// <summary>The bytes of a token, or false for anything that is not base64url of at most <see cref="MaxLength"/> characters.</summary>
    public static bool TryDecode(string? token, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrEmpty(token) || token.Length > MaxLength || !Base64Url.IsValid(token, out var length))
        {
            return false;
        }

        var decoded = new byte[length];
        try
        {
            if (!Base64Url.TryDecodeFromChars(token, decoded, out var read))
            {
                return false;
            }

            bytes = read == length ? decoded : decoded[..read];
            return true;
        }
        catch (FormatException)
        {
            // IsValid accepts some padded forms ("4w=") that the decoder then refuses by throwing
            return false;
        }
    }

    /// <summary>A new secret of <paramref name="byteCount"/> random bytes, as a token.</summary>
    public static string NewSecret(int byteCount = 32) => Encode(RandomNumberGenerator.GetBytes(byteCount));
}
