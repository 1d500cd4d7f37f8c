namespace CallLogs.TestServers;

/// <summary>Where the checkout is, found from the running binary: the folder that holds CallLogs.sln.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>Git-ignored folder for the data of private server instances.</summary>
    public static string Data => Path.Combine(Root, ".data");

    public static string Configuration =>
        typeof(RepositoryPaths).Assembly.Location.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    public static string ServiceAssembly(string service) =>
        Path.Combine(Root, "services", service, "bin", Configuration, "net10.0", $"CallLogs.{service}.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CallLogs.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"CallLogs.sln not found above {AppContext.BaseDirectory}: run the AppHost from the checkout.");
    }
}
