using System.Text;

namespace CallLogs.Contracts;

/// <summary>RFC 4180: fields with a comma, quote, CR or LF are quoted, quotes doubled; rows end with CRLF.</summary>
public static class Csv
{
    public static void AppendRow(StringBuilder text, IEnumerable<string?> fields)
    {
        var first = true;
        foreach (var field in fields)
        {
            if (!first)
            {
                text.Append(',');
            }

            first = false;
            if (field is null)
            {
                continue;
            }

            if (field.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                text.Append('"').Append(field.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                text.Append(field);
            }
        }

        text.Append("\r\n");
    }
}
