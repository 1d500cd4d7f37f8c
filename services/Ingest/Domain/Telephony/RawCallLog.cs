namespace CallLogs.Ingest.Domain.Telephony;

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

    public void UpsertParticipantInfo(ParticipantInfo info)
    {
        var found = ParticipantInfos.FindIndex(p => p.UserUuid == info.UserUuid && p.Role == info.Role);
        if (found >= 0)
        {
            ParticipantInfos[found] = info;
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

internal sealed record ParticipantInfo(Guid UserUuid, string Role, bool? Answered = null, bool Requested = false);
