namespace CallLogs.ServiceDefaults.Auth;

/// <summary>The claim names of a CallLogs token.</summary>
public static class CallLogsClaims
{
    public const string Subject = "sub";
    public const string Name = "name";
    public const string Area = "area";
    public const string Role = "role";
    public const string TokenId = "jti";
}
