namespace CallLogs.AppHost;

/// <summary>Every resource's output on one console, each line prefixed with its resource name.</summary>
internal sealed class ConsoleLog
{
    private static readonly ConsoleColor[] Colors =
        [ConsoleColor.Cyan, ConsoleColor.Green, ConsoleColor.Yellow, ConsoleColor.Magenta, ConsoleColor.Blue, ConsoleColor.DarkCyan, ConsoleColor.DarkYellow, ConsoleColor.DarkGreen];

    private readonly Lock _lock = new();
    private readonly Dictionary<string, ConsoleColor> _colors = [];
    private readonly bool _color = !Console.IsOutputRedirected;

    public event Action<string, string>? LineWritten;

    public Action<string> For(string resource) => line => Write(resource, line);

    public void Write(string resource, string line)
    {
        LineWritten?.Invoke(resource, line);
        lock (_lock)
        {
            if (!_colors.TryGetValue(resource, out var color))
            {
                color = _colors[resource] = Colors[_colors.Count % Colors.Length];
            }

            if (_color)
            {
                Console.ForegroundColor = color;
            }

            Console.Write($"{resource,-9}| ");
            if (_color)
            {
                Console.ResetColor();
            }

            Console.WriteLine(line);
        }
    }

    public void Info(string text)
    {
        lock (_lock)
        {
            Console.WriteLine(text);
        }
    }
}
