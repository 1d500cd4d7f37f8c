namespace CallLogs.ServiceDefaults.Audit;

/// <summary>The service name written as eventSource.</summary>
public sealed record AuditEventSource(string Name);
