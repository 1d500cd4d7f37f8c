using System.Text.RegularExpressions;
using CallLogs.Contracts;

namespace CallLogs.Telephony.Domain;

/// <summary>
/// The rules that turn one call's CEL rows into a call log, as wazo-call-logd applies them (its scenarios, in
/// tests/CallLogs.Telephony.Tests/Scenarios, show them). The first CHAN_START channel is the caller, later ones callees;
/// calls originated through two Local channels have their own rule.
/// </summary>
internal static partial class CelInterpreters
{
    [GeneratedRegex(@"^.*NUM: *(.*?) *, *CONTEXT: *(.*?) *, *NAME: *(.*?) *(?:,|""})")]
    private static partial Regex UserForwardPattern();

    [GeneratedRegex(@"^Local/(\S+)@wazo_wait_for_registration-\S+;2$")]
    private static partial Regex WaitForMobilePattern();

    [GeneratedRegex(@"^PJSIP/(\S+)-\S+$")]
    private static partial Regex MobilePeerPattern();

    [GeneratedRegex(@"^wazo-meeting-.*$")]
    private static partial Regex MeetingExtensionPattern();

    public static void Interpret(IReadOnlyList<CelRow> cels, RawCallLog call)
    {
        if (IsLocalOriginate(cels))
        {
            InterpretLocalOriginate(cels, call);
            return;
        }

        var started = cels.Where(c => c.EventType == CelEventTypes.ChanStart).Select(c => c.UniqueId).ToList();
        var caller = started.FirstOrDefault();
        var callees = started.Skip(1).ToHashSet();
        foreach (var cel in cels.Where(c => c.UniqueId == caller))
        {
            Caller(cel, call);
        }
        foreach (var cel in cels.Where(c => callees.Contains(c.UniqueId)))
        {
            Callee(cel, call);
        }
    }

    // ---- caller ----

    private static void Caller(CelRow cel, RawCallLog call)
    {
        switch (cel.EventType)
        {
            case CelEventTypes.ChanStart:
                call.Date = cel.EventTime;
                call.SourceName = cel.CidName;
                call.SourceInternalName = cel.CidName;
                call.SourceExten = call.Filter(cel.CidNum);
                call.RequestedExten = call.Filter(cel.Exten);
                call.RequestedContext = cel.Context;
                call.DestinationExten = call.Filter(cel.Exten);
                call.SourceLineIdentity = ChannelNames.LineIdentity(cel.ChanName);
                call.Channel(cel.ChanName).Role = ParticipantRoles.Source;
                break;
            case CelEventTypes.ChanEnd:
                call.DateEnd = cel.EventTime;
                call.FilterAll();
                break;
            case CelEventTypes.AppStart:
                call.UserField = cel.UserField;
                VoicemailAppStart(cel, call);
                if (call.WasForwarded)
                {
                    break;
                }
                if (cel.CidName != "")
                {
                    call.SourceName = cel.CidName;
                }
                if (cel.CidNum != "")
                {
                    call.SourceExten = call.Filter(cel.CidNum);
                }
                break;
            case CelEventTypes.Answer:
                if (string.IsNullOrEmpty(call.DestinationExten))
                {
                    call.DestinationExten = cel.CidNum;
                }
                if (string.IsNullOrEmpty(call.RequestedExten))
                {
                    call.RequestedExten = call.Filter(cel.CidNum);
                }
                break;
            case CelEventTypes.BridgeStart or CelEventTypes.BridgeEnter:
                var technology = BridgeTechnology(cel);
                if (string.IsNullOrEmpty(call.SourceName))
                {
                    call.SourceName = cel.CidName;
                }
                if (string.IsNullOrEmpty(call.SourceExten))
                {
                    call.SourceExten = call.Filter(cel.CidNum);
                }
                // a call first put on a holding bridge (switchboard) is not answered yet
                if (call.DateAnswer is null && technology != "holding_bridge")
                {
                    call.DateAnswer = cel.EventTime;
                }
                break;
            case CelEventTypes.XivoFromS:
                call.RequestedExten = call.Filter(cel.Exten);
                call.RequestedContext = cel.Context;
                call.DestinationExten = call.Filter(cel.Exten);
                break;
            case CelEventTypes.XivoIncall:
                call.Direction = CallDirections.Inbound;
                break;
            case CelEventTypes.XivoOutcall:
                if (!call.WasForwarded)
                {
                    call.Direction = CallDirections.Outbound;
                }
                else
                {
                    call.DestinationDetails.Clear();
                    call.DestinationExten = call.Filter(cel.CidNum);
                    call.DestinationName = cel.CidName;
                }
                break;
            case CelEventTypes.XivoUserFwd:
                UserForward(cel, call);
                break;
            case CelEventTypes.WazoConference:
                if (CelExtra.Parse(cel.Extra)?.GetValueOrDefault("extra") is { } conference
                    && conference.IndexOf("NAME: ", StringComparison.Ordinal) is var at and >= 0)
                {
                    call.DestinationName = conference[(at + "NAME: ".Length)..];
                }
                break;
            case CelEventTypes.WazoMeetingName:
                if (CelExtra.Parse(cel.Extra)?.GetValueOrDefault("extra") is { } meeting)
                {
                    call.DestinationName = meeting;
                    if (call.DestinationExten is { } exten && MeetingExtensionPattern().IsMatch(exten))
                    {
                        call.HiddenExtensions.Add(exten);
                    }
                }
                break;
            case CelEventTypes.WazoUserMissedCall:
                UserMissedCall(cel, call);
                break;
            case CelEventTypes.WazoUserBlockedCall:
                UserBlockedCall(cel, call);
                break;
            case CelEventTypes.WazoCallLogDestination:
                CallLogDestination(cel, call);
                break;
            case CelEventTypes.WazoCallLogRequestedInternal:
                RequestedInternal(cel, call);
                break;
        }
    }

    private static void UserForward(CelRow cel, RawCallLog call)
    {
        call.WasForwarded = true;
        var match = UserForwardPattern().Match(cel.Extra);
        if (match.Success)
        {
            call.DestinationExten = call.Filter(match.Groups[1].Value);
        }
        if (call.InterpretCallerUserFwd)
        {
            if (match.Success)
            {
                call.RequestedInternalExten = call.Filter(match.Groups[1].Value);
                call.RequestedInternalContext = match.Groups[2].Value;
                call.RequestedName = match.Groups[3].Value;
            }
            call.InterpretCallerUserFwd = false;
        }
    }

    private static void UserMissedCall(CelRow cel, RawCallLog call)
    {
        if (CelExtra.Parse(cel.Extra)?.GetValueOrDefault("extra") is not { } extra)
        {
            return;
        }
        // wazo_tenant_uuid, source_user_uuid, destination_user_uuid, destination_exten, source_name, destination_name
        var t = CelExtra.Tokens(extra);
        if (t.Length < 6)
        {
            return;
        }
        var sourceName = Uri.UnescapeDataString(t[4]);
        var destinationName = Uri.UnescapeDataString(t[5]);
        if (Guid.TryParse(t[1], out var source))
        {
            call.UpsertParticipantInfo(new ParticipantInfo(source, ParticipantRoles.Source, Answered: false));
        }
        if (Guid.TryParse(t[2], out var destination))
        {
            call.UpsertParticipantInfo(new ParticipantInfo(destination, ParticipantRoles.Destination, Answered: false));
        }
        call.DestinationName = destinationName;
        call.SourceName = sourceName;
        call.SourceExten = cel.CidNum;
        call.SourceLineIdentity = ChannelNames.LineIdentity(cel.ChanName);
    }

    private static void UserBlockedCall(CelRow cel, RawCallLog call)
    {
        if (CelExtra.Parse(cel.Extra)?.GetValueOrDefault("extra") is not { } extra)
        {
            return;
        }
        // wazo_tenant_uuid, destination_user_uuid, callerid name, callerid num, blocked number uuid
        var t = CelExtra.Tokens(extra);
        if (t.Length < 4)
        {
            return;
        }
        if (Guid.TryParse(t[1], out var destination))
        {
            call.UpsertParticipantInfo(new ParticipantInfo(destination, ParticipantRoles.Destination, Answered: false));
        }
        // wazo-call-logd reads the name and number tokens in this (swapped) order; its scenario agrees
        call.SourceName = Uri.UnescapeDataString(t[3]);
        call.SourceExten = Uri.UnescapeDataString(t[2]);
        call.SourceLineIdentity = ChannelNames.LineIdentity(cel.ChanName);
        call.Blocked = true;
    }

    private static void CallLogDestination(CelRow cel, RawCallLog call)
    {
        if (CelExtra.Parse(cel.Extra)?.GetValueOrDefault("extra") is not { } extra)
        {
            return;
        }
        var pairs = CelExtra.RequiredKeyValuePairs(cel, extra);
        if (!pairs.TryGetValue("type", out var type))
        {
            return;
        }
        List<DestinationDetail> details;
        switch (type)
        {
            case "conference":
                details = [new("type", type), new("conference_id", pairs.GetValueOrDefault("id", ""))];
                break;
            case "user":
                var userUuid = pairs.GetValueOrDefault("uuid", "");
                var userName = pairs.GetValueOrDefault("name", "");
                details = [new("type", type), new("user_uuid", userUuid), new("user_name", userName)];
                if (Guid.TryParse(userUuid, out var uuid))
                {
                    call.ParticipantInfos.Add(new ParticipantInfo(uuid, ParticipantRoles.Destination, Requested: call.RequestedType is null));
                }
                call.DestinationName = userName;
                break;
            case "meeting":
                details = [new("type", type), new("meeting_uuid", pairs.GetValueOrDefault("uuid", "")), new("meeting_name", pairs.GetValueOrDefault("name", ""))];
                break;
            case "group":
                var label = pairs.GetValueOrDefault("label", "");
                details = [new("type", type), new("group_id", pairs.GetValueOrDefault("id", "")), new("group_label", label)];
                call.DestinationName = label;
                break;
            default:
                return;
        }
        call.RequestedType ??= type;
        call.DestinationDetails = details;
        call.AuthoritativeDestination = true;
    }

    private static void RequestedInternal(CelRow cel, RawCallLog call)
    {
        if (CelExtra.Parse(cel.Extra)?.GetValueOrDefault("extra") is not { } extra)
        {
            return;
        }
        var pairs = CelExtra.RequiredKeyValuePairs(cel, extra);
        if (pairs.GetValueOrDefault("number") is { Length: > 0 } number)
        {
            call.RequestedInternalExten = number;
        }
        if (pairs.GetValueOrDefault("context") is { Length: > 0 } context)
        {
            call.RequestedInternalContext = context;
        }
    }

    /// <summary>VoiceMail() (not VoiceMailMain()) on any channel means the call reached a mailbox.</summary>
    private static void VoicemailAppStart(CelRow cel, RawCallLog call)
    {
        if (!cel.AppName.Equals("voicemail", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        var mailbox = cel.AppData.Split(',', 2)[0].Split('&', 2)[0];
        var at = mailbox.IndexOf('@');
        var number = at < 0 ? mailbox : mailbox[..at];
        var context = at < 0 ? "" : mailbox[(at + 1)..];
        call.ReachedVoicemail = true;
        call.VoicemailNumber = number == "" ? null : number;
        call.VoicemailContext = context == "" ? null : context;
    }

    private static string? BridgeTechnology(CelRow cel)
    {
        var extra = CelExtra.Parse(cel.Extra);
        return extra is not null && extra.ContainsKey("bridge_id") ? extra.GetValueOrDefault("bridge_technology") : null;
    }

    // ---- callees ----

    private static void Callee(CelRow cel, RawCallLog call)
    {
        switch (cel.EventType)
        {
            case CelEventTypes.ChanStart:
                CalleeChanStart(cel, call);
                break;
            case CelEventTypes.AppStart:
                VoicemailAppStart(cel, call);
                break;
            case CelEventTypes.BridgeEnter or CelEventTypes.BridgeStart:
                CalleeBridgeEnter(cel, call);
                break;
            case CelEventTypes.WazoCallLogRequestedInternal:
                RequestedInternal(cel, call);
                if (CelExtra.Parse(cel.Extra)?.ContainsKey("extra") == true)
                {
                    call.RequestedName = cel.CidName;
                }
                break;
        }
    }

    private static void CalleeChanStart(CelRow cel, RawCallLog call)
    {
        call.DestinationLineIdentity = ChannelNames.LineIdentity(cel.ChanName);
        call.CallerIdByChannel[cel.ChanName] = (cel.CidName, cel.CidNum);

        if (call.Direction == CallDirections.Outbound)
        {
            call.DestinationName = "";
            call.RequestedName = "";
        }
        else if (WaitForMobilePattern().Match(cel.ChanName) is { Success: true } wait)
        {
            call.PendingWaitForMobilePeers.Add(wait.Groups[1].Value);
        }
        else if (IsPendingMobile(cel, call))
        {
            call.InterpretCalleeBridgeEnter = false;
            if (!call.AuthoritativeDestination)
            {
                call.DestinationExten = cel.CidNum;
                call.DestinationName = cel.CidName;
            }
            call.DestinationInternalExten = cel.CidNum;
            call.DestinationInternalContext = cel.Context;
        }
        else
        {
            if (!call.AuthoritativeDestination)
            {
                call.DestinationExten = cel.CidNum;
                call.DestinationName = cel.CidName;
            }
            if (string.IsNullOrEmpty(call.RequestedName))
            {
                call.RequestedName = cel.CidName;
            }
        }
        call.Channel(cel.ChanName).Role = ParticipantRoles.Destination;
    }

    private static bool IsPendingMobile(CelRow cel, RawCallLog call)
    {
        if (call.PendingWaitForMobilePeers.Count == 0)
        {
            return false;
        }
        var match = MobilePeerPattern().Match(cel.ChanName);
        return match.Success && call.PendingWaitForMobilePeers.Remove(match.Groups[1].Value);
    }

    private static void CalleeBridgeEnter(CelRow cel, RawCallLog call)
    {
        call.Channel(cel.ChanName).Answered = true;
        // only the first callee bridge enter names the destination
        if (call.InterpretCalleeBridgeEnter && (!call.AuthoritativeDestination || call.WasForwarded))
        {
            if (cel.CidNum != "" && cel.CidNum != "s")
            {
                call.DestinationExten = cel.CidNum;
            }
            call.DestinationName = cel.CidName;
            call.InterpretCalleeBridgeEnter = false;
        }

        if (cel.Peer == "")
        {
            return;
        }
        // several peers during ad hoc conferences
        foreach (var peer in cel.Peer.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (call.ChannelParticipants.TryGetValue(peer, out var participant))
            {
                participant.Answered = true;
            }
        }
        if (!call.AuthoritativeDestination && call.CallerIdByChannel.TryGetValue(cel.ChanName, out var callerId))
        {
            if (callerId.Name != "")
            {
                call.DestinationName = callerId.Name;
            }
            if (callerId.Num != "")
            {
                call.DestinationExten = callerId.Num;
                call.DestinationInternalExten = callerId.Num;
            }
        }
    }

    // ---- calls originated through Local channels ----

    private static bool IsLocalOriginate(IReadOnlyList<CelRow> cels)
    {
        if (cels.Count == 0 || cels.Select(c => c.UniqueId).Distinct().Count() < 3)
        {
            return false;
        }
        var names = cels.Where(c => c.EventType == CelEventTypes.ChanStart).Select(c => c.ChanName).Take(2).ToList();
        if (names.Count < 2 || !names.All(n => n.StartsWith("local/", StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }
        var first = cels.Where(c => c.UniqueId == cels[0].UniqueId).Take(2).ToList();
        return first.Count == 2 && first[0].EventType == CelEventTypes.ChanStart && first[1].EventType == CelEventTypes.Answer;
    }

    private static void InterpretLocalOriginate(IReadOnlyList<CelRow> cels, RawCallLog call)
    {
        var starting = cels.Where(c => c.EventType == CelEventTypes.ChanStart).Select(c => c.UniqueId).ToList();
        if (starting.Count < 3)
        {
            return;
        }
        var (local1, local2, source) = (starting[0], starting[1], starting[2]);
        CelRow? Find(string uniqueId, string type) => cels.FirstOrDefault(c => c.UniqueId == uniqueId && c.EventType == type);

        var local1Start = Find(local1, CelEventTypes.ChanStart);
        var sourceAnswer = Find(source, CelEventTypes.Answer);
        var sourceEnd = Find(source, CelEventTypes.ChanEnd);
        var local2Answer = Find(local2, CelEventTypes.Answer);
        if (local1Start is null || sourceAnswer is null || sourceEnd is null || local2Answer is null)
        {
            return;
        }

        call.Date = local1Start.EventTime;
        call.DateEnd = sourceEnd.EventTime;
        call.SourceName = sourceAnswer.CidName;
        call.SourceExten = sourceAnswer.CidNum;
        call.SourceLineIdentity = ChannelNames.LineIdentity(sourceAnswer.ChanName);
        call.Channel(sourceAnswer.ChanName).Role = ParticipantRoles.Source;
        call.DestinationExten = local2Answer.CidNum;

        if (Find(local1, CelEventTypes.AppStart) is { } local1AppStart)
        {
            call.UserField = local1AppStart.UserField;
        }
        foreach (var appStart in cels.Where(c => c.EventType == CelEventTypes.AppStart))
        {
            VoicemailAppStart(appStart, call);
        }

        var first3 = starting.Take(3).ToHashSet();
        var others = cels
            .Where(c => c.EventType == CelEventTypes.ChanStart && !first3.Contains(c.UniqueId)
                        && !c.ChanName.StartsWith("local/", StringComparison.OrdinalIgnoreCase))
            .Select(c => c.UniqueId).ToHashSet();
        var destination = cels.LastOrDefault(c => others.Contains(c.UniqueId) && c.EventType == CelEventTypes.BridgeEnter)?.UniqueId;
        if (destination is not null)
        {
            var destinationAnswer = Find(destination, CelEventTypes.Answer);
            // the last bridge enter skips Local channel optimisation
            var destinationBridgeEnter = cels.LastOrDefault(c => c.UniqueId == destination && c.EventType == CelEventTypes.BridgeEnter);
            if (destinationAnswer is null || destinationBridgeEnter is null)
            {
                return;
            }
            call.DestinationName = destinationAnswer.CidName;
            call.DestinationExten = destinationAnswer.CidNum;
            call.DestinationLineIdentity = ChannelNames.LineIdentity(destinationAnswer.ChanName);
            call.Channel(destinationAnswer.ChanName).Role = ParticipantRoles.Destination;
            call.DateAnswer = destinationBridgeEnter.EventTime;
        }

        if (cels.Any(c => c.EventType == CelEventTypes.XivoIncall))
        {
            call.Direction = CallDirections.Inbound;
        }
        if (cels.Any(c => c.EventType == CelEventTypes.XivoOutcall))
        {
            call.Direction = CallDirections.Outbound;
        }

        if (cels.FirstOrDefault(c => c.EventType == CelEventTypes.WazoOriginateAllLines) is { } allLines
            && CelExtra.Parse(allLines.Extra)?.GetValueOrDefault("extra") is { } extra
            && Guid.TryParse(CelExtra.KeyValuePairs(extra).GetValueOrDefault("user_uuid"), out var userUuid))
        {
            var channel = call.Channel(allLines.ChanName);
            channel.Role = ParticipantRoles.Source;
            channel.Requested = false;
            call.UpsertParticipantInfo(new ParticipantInfo(userUuid, ParticipantRoles.Source, Requested: call.RequestedType is null));
            call.RequestedType = "all_lines";
        }
    }
}
