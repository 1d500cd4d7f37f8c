namespace CallLogs.Audit;

/// <summary>A public type of the service's assembly, for <c>WebApplicationFactory</c> in tests.</summary>
public sealed class AuditServiceMarker;
