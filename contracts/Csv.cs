using System.Buffers;
using System.Text;

namespace CallLogs.Contracts;

/// <summary>
/// CSV as every CallLogs file and download writes it. RFC 4180: fields with a comma, quote, CR or LF are quoted,
/// quotes doubled; rows end with CRLF. And, unless raw values are asked for, OWASP's rule against CSV (formula)
/// injection: a cell that begins with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, TAB or CR gets a leading apostrophe, so a
/// spreadsheet shows it as text instead of running it (user agents, URIs and referrers come from the gateways' end
/// users). Two kinds of cell are left alone because no spreadsheet reads them as a formula: a plain number
/// (<c>-1.5</c>, <c>+3</c>, <c>-2e5</c>) and the lone <c>-</c> the gateways write for "none".
/// </summary>
public static class Csv
{
    private static readonly SearchValues<char> NeedsQuotes = SearchValues.Create(",\"\r\n");

    /// <param name="escapeFormulas">False writes every value as it is (for machine consumers that want raw values).</param>
    public static void AppendRow(StringBuilder text, IEnumerable<string?> fields, bool escapeFormulas = true)
    {
        var first = true;
        foreach (var field in fields)
        {
            if (!first)
            {
                text.Append(',');
            }

            first = false;
            if (string.IsNullOrEmpty(field))
            {
                continue;
            }

            var escape = escapeFormulas && IsFormulaLike(field);
            if (field.AsSpan().IndexOfAny(NeedsQuotes) >= 0)
            {
                text.Append('"');
                if (escape)
                {
                    text.Append('\'');
                }

                text.Append(field.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                if (escape)
                {
                    text.Append('\'');
                }

                text.Append(field);
            }
        }

        text.Append("\r\n");
    }

    /// <summary>Whether a spreadsheet could take the cell for a formula (see the class summary for the rule).</summary>
    public static bool IsFormulaLike(string value) =>
        value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' && value != "-" && !IsPlainNumber(value);

    /// <summary>An optional sign, digits with an optional fraction, and an optional exponent; nothing else.</summary>
    private static bool IsPlainNumber(string value)
    {
        var i = value[0] is '+' or '-' ? 1 : 0;
        var digits = Digits(value, ref i);
        if (i < value.Length && value[i] == '.')
        {
            i++;
            digits += Digits(value, ref i);
        }

        if (digits == 0)
        {
            return false;
        }

        if (i < value.Length && value[i] is 'e' or 'E')
        {
            i++;
            if (i < value.Length && value[i] is '+' or '-')
            {
                i++;
            }

            if (Digits(value, ref i) == 0)
            {
                return false;
            }
        }

        return i == value.Length;
    }

    private static int Digits(string value, ref int i)
    {
        var start = i;
        while (i < value.Length && char.IsAsciiDigit(value[i]))
        {
            i++;
        }

        return i - start;
    }
}
