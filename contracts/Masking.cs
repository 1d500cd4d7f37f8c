namespace CallLogs.Contracts;

/// <summary>
/// The masking rule of export profiles and stream channels, for api_key and oauth_access_token values: keep <c>n</c> characters at each end and star the rest (3: 0123456789 → 012****789). A value of 2n characters
/// or fewer is starred whole, so no secret is ever shown in full; 0 stars everything. Empty and "-" stay.
/// </summary>
public static class Masking
{
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
}
