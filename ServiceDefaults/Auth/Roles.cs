namespace CallLogs.ServiceDefaults.Auth;

/// <summary>The roles a caller's token can carry in its <c>role</c> claim.</summary>
public static class Roles
{
    public const string PlatformAdmin = "platform-admin";
    public const string AreaAdmin = "area-admin";
    public const string AreaViewer = "area-viewer";
    /// <summary>A gateway or PBX that sends call records or CEL rows for its area.</summary>
    public const string Ingest = "ingest";
    /// <summary>Operators of the platform: the dashboard and operations endpoints.</summary>
    public const string Operator = "operator";

    public static readonly string[] All = [PlatformAdmin, AreaAdmin, AreaViewer, Ingest, Operator];
}
