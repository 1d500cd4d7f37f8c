using CallLogs.TestServers;

namespace CallLogs.Testing;

/// <summary>
/// What the benchmarks share: their section of docs/benchmarks.md, replaced by a new run's, and the environment of the
/// services they run as processes.
/// </summary>
public static class BenchmarkReport
{
    public static async Task WriteSectionAsync(string name, string markdown)
    {
        var begin = $"<!-- {name}:begin -->";
        var end = $"<!-- {name}:end -->";
        var path = Path.Combine(RepositoryPaths.Root, "docs", "benchmarks.md");
        var text = File.Exists(path) ? await File.ReadAllTextAsync(path) : "# Benchmarks\n";
        var section = $"{begin}\n{markdown.Trim()}\n{end}";
        var start = text.IndexOf(begin, StringComparison.Ordinal);
        var stop = text.IndexOf(end, StringComparison.Ordinal);
        text = start >= 0 && stop > start ? text[..start] + section + text[(stop + end.Length)..] : text.TrimEnd() + "\n\n" + section + "\n";
        await File.WriteAllTextAsync(path, text);
        Console.WriteLine($"wrote {path}");
    }

    /// <summary>
    /// A service's environment as a benchmark runs it (<see cref="ServiceEnvironment.For"/>): in Production, logging
    /// warnings only, with the runtime settings to compare (<see cref="PassRuntimeSettings"/>).
    /// </summary>
    public static Dictionary<string, string?> ServiceEnvironmentFor(string service, InfrastructureEndpoints endpoints, string signingKey,
        IReadOnlyDictionary<string, int> ports, string database)
    {
        var environment = ServiceEnvironment.For(service, endpoints, signingKey, ports, database);
        environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        environment["Logging__LogLevel__Default"] = "Warning";
        PassRuntimeSettings(environment);
        return environment;
    }

    /// <summary>
    /// Runtime settings to compare, given to the benchmark as <c>BENCH_DOTNET_*</c> (e.g. BENCH_DOTNET_GCgen0size),
    /// passed to the service under test as <c>DOTNET_*</c> without touching the benchmark process itself.
    /// </summary>
    public static void PassRuntimeSettings(IDictionary<string, string?> environment)
    {
        foreach (var (name, value) in Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Where(e => ((string)e.Key).StartsWith("BENCH_DOTNET_", StringComparison.Ordinal)))
        {
            environment[((string)name)["BENCH_".Length..]] = (string?)value;
        }
    }
}
