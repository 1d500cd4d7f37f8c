namespace CallLogs.ServiceDefaults.Audit;

/// <summary>Endpoint metadata: this endpoint is a bulk data path (call records, stream frames), not a management call.</summary>
public sealed class ExcludeFromAuditMetadata
{
    public static readonly ExcludeFromAuditMetadata Instance = new();
}
