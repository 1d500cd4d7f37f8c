namespace CallLogs.Audit.Domain;

/// <summary>The folder of an area in the trail: its id, or <c>platform</c> for calls that belong to no area.</summary>
public static class AreaKeys
{
    public const string Platform = "platform";

    public static string Of(Guid? areaId) => areaId is { } id ? id.ToString("D") : Platform;

    public static bool TryParse(string value, out string areaKey)
    {
        if (string.Equals(value, Platform, StringComparison.OrdinalIgnoreCase))
        {
            areaKey = Platform;
            return true;
        }

        areaKey = Guid.TryParse(value, out var id) ? id.ToString("D") : "";
        return areaKey.Length > 0;
    }
}
