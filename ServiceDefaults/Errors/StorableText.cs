using System.Buffers;
using FluentValidation;

namespace CallLogs.ServiceDefaults.Errors;

/// <summary>
/// The one rule for text taken from outside: what PostgreSQL and every consumer after it can store and show. No NUL
/// (PostgreSQL refuses it in text), no unpaired UTF-16 surrogate (no UTF-8 encoding exists for it), and no other C0
/// control character than tab, line feed and carriage return (invisible in every place the text is shown or exported).
/// </summary>
public static class StorableText
{
    private static readonly SearchValues<char> Controls = SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F");

    /// <summary>Why <paramref name="text"/> cannot be stored, or null when it can.</summary>
    public static string? Problem(ReadOnlySpan<char> text, bool allowControls = false)
    {
        var control = allowControls ? text.IndexOf('\0') : text.IndexOfAny(Controls);
        if (control >= 0)
        {
            return text[control] == '\0'
                ? $"contains a NUL character (U+0000) at position {control}, which cannot be stored; remove it"
                : $"contains the control character U+{(int)text[control]:X4} at position {control}; send text without control characters (tab and line breaks are fine)";
        }

        var surrogate = text.IndexOfAnyInRange('\uD800', '\uDFFF');
        while (surrogate >= 0)
        {
            if (!char.IsHighSurrogate(text[surrogate]) || surrogate + 1 >= text.Length || !char.IsLowSurrogate(text[surrogate + 1]))
            {
                return $"contains an unpaired UTF-16 surrogate (U+{(int)text[surrogate]:X4}) at position {surrogate}, which is not valid Unicode; send valid UTF-8";
            }

            var next = text[(surrogate + 2)..].IndexOfAnyInRange('\uD800', '\uDFFF');
            surrogate = next < 0 ? -1 : surrogate + 2 + next;
        }

        return null;
    }

    public static bool IsStorable(ReadOnlySpan<char> text, bool allowControls = false) => Problem(text, allowControls) is null;

    /// <summary>FluentValidation: the value (when set) holds only text that can be stored (see <see cref="StorableText"/>).</summary>
    public static IRuleBuilderOptions<T, string?> Storable<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(value => value is null || IsStorable(value))
            .WithMessage((_, value) => $"'{{PropertyName}}' {Problem(value)}.");
}
