namespace CallLogs.AppHost.Dashboard;

public sealed record LogLine(long Seq, DateTimeOffset Time, string Resource, string Level, string Text);

/// <summary>The last lines of every resource's console, for the dashboard's log view.</summary>
public sealed class LogStore(int capacityPerResource = 5000)
{
    private readonly Dictionary<string, Queue<LogLine>> _lines = [];
    private readonly Dictionary<string, string> _lastLevel = [];
    private readonly Lock _lock = new();
    private long _seq;

    public void Add(string resource, string text)
    {
        lock (_lock)
        {
            if (!_lines.TryGetValue(resource, out var queue))
            {
                queue = _lines[resource] = new Queue<LogLine>();
            }

            // The console logger writes "info: Category[id]" then indented message lines: those keep the level.
            var level = LevelOf(text) ?? (text.StartsWith(' ') && _lastLevel.TryGetValue(resource, out var last) ? last : "info");
            _lastLevel[resource] = level;
            queue.Enqueue(new LogLine(++_seq, DateTimeOffset.UtcNow, resource, level, text));
            while (queue.Count > capacityPerResource)
            {
                queue.Dequeue();
            }
        }
    }

    public IReadOnlyList<LogLine> Query(string? resource, string? search, string? level, long after, int limit)
    {
        lock (_lock)
        {
            var source = resource is null ? _lines.Values.SelectMany(q => q) : _lines.GetValueOrDefault(resource) ?? new Queue<LogLine>();
            var minimum = Rank(level ?? "debug");
            return source
                .Where(l => l.Seq > after && Rank(l.Level) >= minimum)
                .Where(l => string.IsNullOrEmpty(search) || l.Text.Contains(search, StringComparison.OrdinalIgnoreCase))
                .OrderBy(l => l.Seq)
                .TakeLast(limit)
                .ToList();
        }
    }

    private static string? LevelOf(string text)
    {
        var t = text.TrimStart();
        if (t.StartsWith("fail:", StringComparison.Ordinal) || t.StartsWith("crit:", StringComparison.Ordinal) || t.Contains("[error]", StringComparison.Ordinal) || t.Contains(" ERROR ", StringComparison.Ordinal))
        {
            return "error";
        }

        if (t.StartsWith("warn:", StringComparison.Ordinal) || t.Contains("[warning]", StringComparison.Ordinal) || t.Contains(" WARNING ", StringComparison.Ordinal))
        {
            return "warning";
        }

        if (t.StartsWith("dbug:", StringComparison.Ordinal) || t.StartsWith("trce:", StringComparison.Ordinal) || t.Contains("[debug]", StringComparison.Ordinal))
        {
            return "debug";
        }

        return t.StartsWith("info:", StringComparison.Ordinal) || t.Contains("[info]", StringComparison.Ordinal) ? "info" : null;
    }

    private static int Rank(string level) => level switch
    {
        "error" => 3,
        "warning" => 2,
        "info" => 1,
        _ => 0,
    };
}
