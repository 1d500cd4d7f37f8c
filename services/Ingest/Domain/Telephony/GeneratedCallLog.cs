namespace CallLogs.Ingest.Domain.Telephony;

public static class CallDirections
{
    public const string Internal = "internal";
    public const string Inbound = "inbound";
    public const string Outbound = "outbound";
    public static readonly string[] All = [Internal, Inbound, Outbound];
}

public static class ParticipantRoles
{
    public const string Source = "source";
    public const string Destination = "destination";
}

public sealed record CallLogParticipant
{
    public required Guid UserUuid { get; init; }
    public int? LineId { get; init; }
    public required string Role { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public bool Answered { get; init; }
    public bool Requested { get; init; }
}

public sealed record DestinationDetail(string Key, string Value);

/// <summary>One call log interpreted from the CEL rows of one call (pure data, no storage id yet).</summary>
public sealed record GeneratedCallLog
{
    public required string ConversationId { get; init; }
    public required IReadOnlyList<long> CelIds { get; init; }
    public required DateTimeOffset Date { get; init; }
    public DateTimeOffset? DateAnswer { get; init; }
    public DateTimeOffset? DateEnd { get; init; }
    public string? SourceName { get; init; }
    public string? SourceExten { get; init; }
    public string? SourceInternalName { get; init; }
    public string? SourceInternalExten { get; init; }
    public string? SourceInternalContext { get; init; }
    public string? SourceLineIdentity { get; init; }
    public string? RequestedName { get; init; }
    public string? RequestedExten { get; init; }
    public string? RequestedContext { get; init; }
    public string? RequestedInternalExten { get; init; }
    public string? RequestedInternalContext { get; init; }
    public string? DestinationName { get; init; }
    public string? DestinationExten { get; init; }
    public string? DestinationInternalExten { get; init; }
    public string? DestinationInternalContext { get; init; }
    public string? DestinationLineIdentity { get; init; }
    public string? UserField { get; init; }
    public required string Direction { get; init; }
    public bool Blocked { get; init; }
    public bool ReachedVoicemail { get; init; }
    public IReadOnlyList<DestinationDetail> DestinationDetails { get; init; } = [];
    public IReadOnlyList<CallLogParticipant> Participants { get; init; } = [];

    /// <summary>Union of the participants' tags, in first-seen order.</summary>
    public IReadOnlyList<string> Tags => Participants.SelectMany(p => p.Tags).Distinct().ToList();

    public bool Answered => DateAnswer is not null;

    /// <summary>end - answer, never negative, null when unanswered.</summary>
    public TimeSpan? Duration => DateAnswer is { } a && DateEnd is { } e ? (e > a ? e - a : TimeSpan.Zero) : null;

    public Guid? SourceUserUuid => Participants.FirstOrDefault(p => p.Role == ParticipantRoles.Source)?.UserUuid;

    /// <summary>The answered destination participant first, then the highest uuid (as the reference orders them).</summary>
    public Guid? DestinationUserUuid => Participants
        .Where(p => p.Role == ParticipantRoles.Destination)
        .OrderByDescending(p => p.Answered).ThenByDescending(p => p.UserUuid.ToString())
        .Select(p => (Guid?)p.UserUuid).FirstOrDefault();

    public IEnumerable<Guid> UserUuids => Participants.Select(p => p.UserUuid).Distinct();
}
