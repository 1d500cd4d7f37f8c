namespace CallLogs.Telephony.Domain;

/// <summary>What PostgreSQL can store in a text column: no U+0000 and no lone UTF-16 surrogate (not encodable as UTF-8).</summary>
public static class StorableText
{
    public const string Problem = "must not contain U+0000 or an unpaired surrogate (PostgreSQL cannot store them)";

    public static bool IsStorable(string? value) =>
        value is null || (!value.Contains('\0') && IsWellFormed(value));

    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }
}
