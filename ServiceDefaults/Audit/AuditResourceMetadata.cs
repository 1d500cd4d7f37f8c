namespace CallLogs.ServiceDefaults.Audit;

/// <summary>Endpoint metadata: the kind of resource whose <c>id</c> the endpoint answers with.</summary>
public sealed record AuditResourceMetadata(string Kind);
