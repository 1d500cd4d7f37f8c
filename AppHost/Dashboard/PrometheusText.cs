using System.Globalization;

namespace CallLogs.AppHost.Dashboard;

/// <summary>Reads the Prometheus text exposition format: the sum of a metric's samples over all its labels.</summary>
public static class PrometheusText
{
    public static IReadOnlyDictionary<string, double> Sums(string text)
    {
        var sums = new Dictionary<string, double>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd <= 0)
            {
                continue;
            }

            var name = line[..nameEnd];
            var valueStart = line[nameEnd] == '{' ? line.IndexOf("} ", nameEnd, StringComparison.Ordinal) + 2 : nameEnd + 1;
            if (valueStart < 2)
            {
                continue;
            }

            var value = line[valueStart..].Split(' ')[0];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
            {
                sums[name] = sums.GetValueOrDefault(name) + number;
            }
        }

        return sums;
    }
}
