namespace CallLogs.Contracts;

/// <summary>
/// One telephony call log (wazo-call-logd's CDR): what the generator makes from a call's CEL rows, what the
/// telephony database stores, what its API returns and what <see cref="CallLogsCreated"/> carries. One shape
/// from generation to storage to API.
/// </summary>
public sealed record TelephonyCallLog
{
    /// <summary>Storage id; 0 until the call log is stored.</summary>
    public long Id { get; init; }
    public Guid AreaId { get; init; }
    /// <summary>The smallest linkedid of the call (a pickup joins several).</summary>
    public required string ConversationId { get; init; }
    public required DateTimeOffset Start { get; init; }
    public DateTimeOffset? Answer { get; init; }
    public DateTimeOffset? End { get; init; }
    /// <summary><see cref="CallDirections"/>: internal, inbound or outbound.</summary>
    public required string CallDirection { get; init; }
    public string? SourceName { get; init; }
    public string? SourceExtension { get; init; }
    public string? SourceInternalName { get; init; }
    public string? SourceInternalExtension { get; init; }
    public string? SourceInternalContext { get; init; }
    public string? SourceLineIdentity { get; init; }
    public Guid? SourceUserUuid { get; init; }
    /// <summary>What the caller asked for, before any forward, ring group or queue.</summary>
    public string? RequestedName { get; init; }
    public string? RequestedExtension { get; init; }
    public string? RequestedContext { get; init; }
    public string? RequestedInternalExtension { get; init; }
    public string? RequestedInternalContext { get; init; }
    /// <summary>The user the caller first asked for (the participant marked requested), if a user.</summary>
    public Guid? RequestedUserUuid { get; init; }
    public string? DestinationName { get; init; }
    public string? DestinationExtension { get; init; }
    public string? DestinationInternalExtension { get; init; }
    public string? DestinationInternalContext { get; init; }
    public string? DestinationLineIdentity { get; init; }
    /// <summary>The destination participant that answered, else the highest uuid among them.</summary>
    public Guid? DestinationUserUuid { get; init; }
    public IReadOnlyList<DestinationDetail> DestinationDetails { get; init; } = [];
    public string? UserField { get; init; }
    public bool Blocked { get; init; }
    public bool ReachedVoicemail { get; init; }
    /// <summary>The union of the participants' tags (their users' userfield split on commas), in first-seen order.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    public IReadOnlyList<CallLogParticipant> Participants { get; init; } = [];

    public bool Answered => Answer is not null;

    /// <summary>Seconds from answer to end, never negative, none when unanswered.</summary>
    public double? Duration => Answer is { } a && End is { } e ? Math.Max(0, (e - a).TotalSeconds) : null;
}

/// <summary>A user who took part in a call, through one of their lines or named by the dialplan.</summary>
public sealed record CallLogParticipant
{
    public required Guid UserUuid { get; init; }
    public int? LineId { get; init; }
    /// <summary><see cref="ParticipantRoles"/>: source or destination.</summary>
    public required string Role { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public bool Answered { get; init; }
    /// <summary>The user the caller first asked for (before forwards, groups, queues).</summary>
    public bool Requested { get; init; }
}

/// <summary>What the call reached (type user, group, conference, meeting, voicemail) and its details, as key/value pairs.</summary>
public sealed record DestinationDetail(string Key, string Value);

public static class CallDirections
{
    public const string Internal = "internal";
    public const string Inbound = "inbound";
    public const string Outbound = "outbound";
    public static readonly IReadOnlyList<string> All = [Internal, Inbound, Outbound];
}

public static class ParticipantRoles
{
    public const string Source = "source";
    public const string Destination = "destination";
}

/// <summary>
/// Telephony call logs were generated from CEL rows and committed: one message per write (a real-time intake or a chunk
/// of a regeneration), so a regeneration of thousands of calls is a handful of messages. A regenerated call log has a
/// new id and replaces the one with the same conversation id.
/// </summary>
public sealed record CallLogsCreated
{
    public required Guid AreaId { get; init; }
    public required IReadOnlyList<TelephonyCallLog> CallLogs { get; init; }
}
