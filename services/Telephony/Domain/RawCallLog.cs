using CallLogs.Contracts;

namespace CallLogs.Telephony.Domain;

/// <summary>The call log being built while CEL rows are interpreted (mutable working state of the generator).</summary>
internal sealed class RawCallLog
{
    public DateTimeOffset? Date;
    public DateTimeOffset? DateEnd;
    public DateTimeOffset? DateAnswer;
    public string? SourceName, SourceExten, SourceInternalExten, SourceInternalContext, SourceInternalName, SourceLineIdentity;
    public string? RequestedName, RequestedExten, RequestedContext, RequestedInternalExten, RequestedInternalContext, RequestedType;
    public string? DestinationName, DestinationExten, DestinationInternalExten, DestinationInternalContext, DestinationLineIdentity;
    public string? UserField;
    public string Direction = CallDirections.Internal;
    public bool Blocked, ReachedVoicemail, WasForwarded;
    public string? VoicemailNumber, VoicemailContext;
    public bool InterpretCalleeBridgeEnter = true;
    public bool InterpretCallerUserFwd = true;
    /// <summary>Destination set by WAZO_CALL_LOG_DESTINATION: later events must not overwrite it.</summary>
    public bool AuthoritativeDestination;
    public List<DestinationDetail> DestinationDetails = [];
    /// <summary>Per channel name: role, answered, requested (insertion order kept).</summary>
    public readonly Dictionary<string, ChannelParticipant> ChannelParticipants = [];
    /// <summary>Participants named by custom events (missed call, destination...), not by a channel.</summary>
    public readonly List<ParticipantInfo> ParticipantInfos = [];
    public readonly HashSet<string> PendingWaitForMobilePeers = [];
    public readonly Dictionary<string, (string Name, string Num)> CallerIdByChannel = [];
    public readonly HashSet<string> HiddenExtensions = ["s"];

    public ChannelParticipant Channel(string name)
    {
        if (!ChannelParticipants.TryGetValue(name, out var p))
        {
            p = new ChannelParticipant();
            ChannelParticipants[name] = p;
        }
        return p;
    }

    public string Filter(string? exten) => exten is not null && HiddenExtensions.Contains(exten) ? "" : exten ?? "";

    public string? FilterNullable(string? exten) => exten is null ? null : Filter(exten);

    public void FilterAll()
    {
        SourceExten = FilterNullable(SourceExten);
        SourceInternalExten = FilterNullable(SourceInternalExten);
        RequestedExten = FilterNullable(RequestedExten);
        RequestedInternalExten = FilterNullable(RequestedInternalExten);
        DestinationExten = FilterNullable(DestinationExten);
        DestinationInternalExten = FilterNullable(DestinationInternalExten);
    }

    /// <summary>The call log this working state describes: the one place its fields become a <see cref="TelephonyCallLog"/>.</summary>
    public TelephonyCallLog ToCallLog(string conversationId, DateTimeOffset start, IReadOnlyList<CallLogParticipant> participants) => new()
    {
        ConversationId = conversationId,
        Start = start,
        Answer = DateAnswer,
        End = DateEnd,
        CallDirection = Direction,
        SourceName = SourceName,
        SourceExtension = SourceExten,
        SourceInternalName = SourceInternalName,
        SourceInternalExtension = SourceInternalExten,
        SourceInternalContext = SourceInternalContext,
        SourceLineIdentity = SourceLineIdentity,
        SourceUserUuid = participants.FirstOrDefault(p => p.Role == ParticipantRoles.Source)?.UserUuid,
        RequestedName = RequestedName,
        RequestedExtension = RequestedExten,
        RequestedContext = RequestedContext,
        RequestedInternalExtension = RequestedInternalExten,
        RequestedInternalContext = RequestedInternalContext,
        RequestedUserUuid = participants.FirstOrDefault(p => p.Requested)?.UserUuid,
        DestinationName = DestinationName,
        DestinationExtension = DestinationExten,
        DestinationInternalExtension = DestinationInternalExten,
        DestinationInternalContext = DestinationInternalContext,
        DestinationLineIdentity = DestinationLineIdentity,
        // the answered destination first, then the highest uuid (as wazo-call-logd orders them)
        DestinationUserUuid = participants.Where(p => p.Role == ParticipantRoles.Destination)
            .OrderByDescending(p => p.Answered).ThenByDescending(p => p.UserUuid.ToString()).Select(p => (Guid?)p.UserUuid).FirstOrDefault(),
        DestinationDetails = DestinationDetails,
        UserField = UserField,
        Blocked = Blocked,
        ReachedVoicemail = ReachedVoicemail,
        Tags = participants.SelectMany(p => p.Tags).Distinct().ToList(),
        Participants = participants,
    };

    /// <summary>
    /// Adds what a dialplan event says of a user in a role, or completes what an earlier event said: a value the new
    /// event leaves unsaid (null) keeps the earlier one, so a missed-call event does not undo "requested".
    /// </summary>
    public void UpsertParticipantInfo(ParticipantInfo info)
    {
        var found = ParticipantInfos.FindIndex(p => p.UserUuid == info.UserUuid && p.Role == info.Role);
        if (found >= 0)
        {
            var earlier = ParticipantInfos[found];
            ParticipantInfos[found] = earlier with { Answered = info.Answered ?? earlier.Answered, Requested = info.Requested ?? earlier.Requested };
        }
        else
        {
            ParticipantInfos.Add(info);
        }
    }
}

internal sealed class ChannelParticipant
{
    public string? Role;
    public bool? Answered;
    public bool Requested;
}

/// <summary>A user a dialplan event names; null values are unsaid by that event.</summary>
internal sealed record ParticipantInfo(Guid UserUuid, string Role, bool? Answered = null, bool? Requested = null);
