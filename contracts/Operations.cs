namespace CallLogs.Contracts;

/// <summary>
/// A long operation (regenerating telephony call logs, purging them, re-exporting hours) as services show it at
/// <c>/api/ops/operations</c> and per area: what it is, who started it, and how far it got.
/// </summary>
/// <param name="State"><c>running</c>, <c>succeeded</c>, <c>failed</c>, or <c>interrupted</c> (running, but not heard of for minutes: its process died).</param>
/// <param name="Done">Units done (calls, call logs, objects); <paramref name="Total"/> is 0 while still unknown.</param>
public sealed record OperationStatus(Guid Id, string Service, string Kind, Guid AreaId, string StartedBy, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt, string State, long Done, long Total, string Unit, string? Message);
