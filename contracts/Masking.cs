namespace CallLogs.Contracts;

/// <summary>
/// The masking rule of export profiles and stream channels: keep <c>n</c> characters at each end of a secret and
/// star the rest (3: 0123456789 → 012****789). A value of 2n characters or fewer is starred whole, so no secret is
/// ever shown in full; 0 stars everything. Empty and "-" (the gateways' "none") stay.
/// </summary>
/// <remarks>
/// The secrets of a call record are its API key and its OAuth token (<see cref="CallRecordFields.Secrets"/>). They are
/// masked in their own fields, in <c>request_id</c> (epoch time, service id and API key joined by '_'), and wherever
/// else they appear in full: a gateway that was called with <c>?api_key=...</c> writes the key into <c>uri</c>, and
/// often into <c>referrer</c>. A secret shorter than <see cref="MinEmbeddedLength"/> characters is only masked in its
/// own field and in request_id: so short a string turns up by chance in other text.
/// </remarks>
public static class Masking
{
    /// <summary>Secrets at least this long are also masked where they appear inside other fields.</summary>
    public const int MinEmbeddedLength = 6;

    private static readonly int ApiKeyColumn = CallRecordFields.IndexOf("api_key");
    private static readonly int TokenColumn = CallRecordFields.IndexOf("oauth_access_token");
    private static readonly int RequestIdColumn = CallRecordFields.IndexOf("request_id");

    public static string? Mask(string? value, int keep)
    {
        if (string.IsNullOrEmpty(value) || value == "-")
        {
            return value;
        }

        if (keep <= 0 || value.Length <= 2 * keep)
        {
            return new string('*', value.Length);
        }

        return string.Create(value.Length, (value, keep), static (span, state) =>
        {
            var (text, n) = state;
            span.Fill('*');
            text.AsSpan(0, n).CopyTo(span);
            text.AsSpan(text.Length - n).CopyTo(span[^n..]);
        });
    }

    /// <summary>
    /// Masks every secret in a record's values (in the order of <see cref="CallRecordFields.Names"/>), in place, and
    /// returns them.
    /// </summary>
    public static string?[] MaskRecord(string?[] values, int keep)
    {
        var apiKey = values[ApiKeyColumn];
        var token = values[TokenColumn];
        for (var i = 0; i < values.Length; i++)
        {
            if (i == ApiKeyColumn || i == TokenColumn)
            {
                values[i] = Mask(values[i], keep);
            }
            else if (i == RequestIdColumn)
            {
                values[i] = MaskEmbedded(MaskRequestId(values[i], keep), apiKey, token, keep);
            }
            else
            {
                values[i] = MaskEmbedded(values[i], apiKey, token, keep);
            }
        }

        return values;
    }

    /// <summary>
    /// A request id is <c>&lt;epoch time&gt;_&lt;service id&gt;_&lt;api key&gt;</c> (<c>1555711003.068__fav6x8vp8wwcyj65m7yv3bzt</c>: no
    /// service id): its API key part is masked. A request id of another form is masked whole, as it may hold a key.
    /// </summary>
    public static string? MaskRequestId(string? value, int keep)
    {
        if (string.IsNullOrEmpty(value) || value == "-")
        {
            return value;
        }

        var first = value.IndexOf('_', StringComparison.Ordinal);
        var second = first < 0 ? -1 : value.IndexOf('_', first + 1);
        if (first <= 0 || second < 0 || !IsEpoch(value.AsSpan(0, first)))
        {
            return Mask(value, keep);
        }

        var key = value[(second + 1)..];
        return key.Length == 0 ? value : string.Concat(value.AsSpan(0, second + 1), Mask(key, keep));
    }

    /// <summary>Every full occurrence of the API key or the token inside <paramref name="value"/>, masked.</summary>
    public static string? MaskEmbedded(string? value, string? apiKey, string? token, int keep)
    {
        if (string.IsNullOrEmpty(value))
        {
            return value;
        }

        return MaskOccurrences(MaskOccurrences(value, apiKey, keep), token, keep);
    }

    private static string MaskOccurrences(string value, string? secret, int keep) =>
        secret is { Length: >= MinEmbeddedLength } && value.Length >= secret.Length && value.Contains(secret, StringComparison.Ordinal)
            ? value.Replace(secret, Mask(secret, keep), StringComparison.Ordinal)
            : value;

    private static bool IsEpoch(ReadOnlySpan<char> text)
    {
        var dot = text.IndexOf('.');
        var seconds = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? [] : text[(dot + 1)..];
        return seconds.Length > 0 && !seconds.ContainsAnyExceptInRange('0', '9') && !fraction.ContainsAnyExceptInRange('0', '9');
    }
}
