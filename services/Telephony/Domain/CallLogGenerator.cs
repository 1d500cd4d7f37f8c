using CallLogs.Contracts;

namespace CallLogs.Telephony.Domain;

/// <summary>A call log made from CEL rows, with the ids of the rows it was made from.</summary>
public sealed record GeneratedCall(TelephonyCallLog CallLog, IReadOnlyList<long> CelIds);

/// <summary>
/// Turns CEL rows into call logs. Pure: rows and a directory snapshot in, call logs out.
/// Rows are grouped by linkedid; groups sharing a uniqueid (a channel) are merged, transitively; a group
/// becomes a call log only when every linkedid in it has ended (LINKEDID_END). A group whose rows cannot
/// make a call log (no start, no caller) gives none; one broken group never stops the others.
/// </summary>
public static class CallLogGenerator
{
    public static IReadOnlyList<GeneratedCall> Generate(IEnumerable<CelRow> rows, TelephonyDirectory directory) =>
        Generate(rows, directory, out _);

    /// <param name="failures">Calls whose rows could not be interpreted (conversation id and reason).</param>
    public static IReadOnlyList<GeneratedCall> Generate(IEnumerable<CelRow> rows, TelephonyDirectory directory,
        out IReadOnlyList<(string ConversationId, string Reason)> failures)
    {
        var failed = new List<(string, string)>();
        failures = failed;
        var result = new List<GeneratedCall>();
        foreach (var (linkedIds, cels) in GroupBySharedChannels(rows))
        {
            if (!HasEnded(linkedIds, cels))
            {
                continue;
            }

            var outcome = GenerateEnded(linkedIds, cels, directory);
            if (outcome.Call is { } call)
            {
                result.Add(call);
            }
            else if (outcome.Failure is { } failure)
            {
                failed.Add(failure);
            }
        }
        return result;
    }

    /// <summary>What one ended group of rows gives: a call log, a failure, or neither (no caller).</summary>
    public readonly record struct GroupOutcome(GeneratedCall? Call, (string ConversationId, string Reason)? Failure);

    /// <summary>A group (see <see cref="GroupBySharedChannels"/>) makes a call log once every linkedid in it has ended.</summary>
    public static bool HasEnded(HashSet<string> linkedIds, List<CelRow> cels) =>
        linkedIds.SetEquals(cels.Where(c => c.EventType == CelEventTypes.LinkedIdEnd).Select(c => c.LinkedId));

    /// <summary>
    /// The call log of one group of <see cref="GroupBySharedChannels"/> that <see cref="HasEnded"/>; one broken group
    /// never stops the others.
    /// </summary>
    public static GroupOutcome GenerateEnded(HashSet<string> linkedIds, List<CelRow> cels, TelephonyDirectory directory)
    {
        try
        {
            return new GroupOutcome(Build(linkedIds, cels, directory), null);
        }
        catch (CelInterpretationException e)
        {
            return new GroupOutcome(null, (linkedIds.Min(StringComparer.Ordinal)!, e.Message));
        }
    }

    /// <summary>Linkedid groups merged through shared uniqueids; each group's rows sorted by event time.</summary>
    public static IEnumerable<(HashSet<string> LinkedIds, List<CelRow> Cels)> GroupBySharedChannels(IEnumerable<CelRow> rows)
    {
        var byLinkedId = rows.GroupBy(r => r.LinkedId).OrderBy(g => g.Key, StringComparer.Ordinal);
        var groups = new List<(HashSet<string> UniqueIds, HashSet<string> LinkedIds, List<CelRow> Cels)>();
        var groupOfUniqueId = new Dictionary<string, int>();
        var parent = new List<int>();
        int Root(int i) { while (parent[i] != i) { parent[i] = parent[parent[i]]; i = parent[i]; } return i; }

        foreach (var sequence in byLinkedId)
        {
            var index = groups.Count;
            groups.Add(([.. sequence.Select(c => c.UniqueId)], [sequence.Key], [.. sequence]));
            parent.Add(index);
            foreach (var uniqueId in groups[index].UniqueIds)
            {
                if (groupOfUniqueId.TryGetValue(uniqueId, out var other))
                {
                    var (a, b) = (Root(other), Root(index));
                    if (a != b)
                    {
                        parent[b] = a;
                    }
                }
                else
                {
                    groupOfUniqueId[uniqueId] = index;
                }
            }
        }

        return Enumerable.Range(0, groups.Count)
            .GroupBy(Root)
            .Select(members =>
            {
                var linkedIds = members.SelectMany(m => groups[m].LinkedIds).ToHashSet();
                // stable sort: rows with the same time keep their given order
                var cels = members.SelectMany(m => groups[m].Cels).OrderBy(c => c.EventTime).ThenBy(c => c.Id).ToList();
                return (linkedIds, cels);
            });
    }

    private static GeneratedCall? Build(HashSet<string> linkedIds, List<CelRow> cels, TelephonyDirectory directory)
    {
        var call = new RawCallLog();
        CelInterpreters.Interpret(cels, call);
        RemoveDuplicateChannels(call);
        var participants = Participants(call, directory, out var channelUsers);
        FillExtensionsFromParticipants(call, channelUsers);
        ResolveVoicemail(call, directory);

        if (call.Date is not { } date || (string.IsNullOrEmpty(call.SourceName) && string.IsNullOrEmpty(call.SourceExten)))
        {
            return null;
        }

        // call pickups may join several linkedids: the caller's, the smallest, names the conversation
        return new GeneratedCall(call.ToCallLog(linkedIds.Min(StringComparer.Ordinal)!, date, participants), cels.Select(c => c.Id).ToList());
    }

    /// <summary>A line can open several channels in one call (a mobile redialled after a push): keep the answered one, else the last.</summary>
    private static void RemoveDuplicateChannels(RawCallLog call)
    {
        var byLine = call.ChannelParticipants.Keys
            .Order(StringComparer.Ordinal)
            .GroupBy(name => ChannelNames.ProtocolInterface(name) is { } pi ? $"{pi.Protocol}/{pi.Interface}" : name);
        foreach (var line in byLine)
        {
            var names = line.ToList();
            var answered = names.Where(n => call.ChannelParticipants[n].Answered == true).ToList();
            var kept = answered.Count > 0 ? answered[^1] : names[^1];
            foreach (var name in names.Where(n => n != kept))
            {
                call.ChannelParticipants.Remove(name);
            }
        }
    }

    private sealed record ChannelUser(ChannelParticipant Channel, DirectoryUser User, DirectoryLine Line);

    private static List<CallLogParticipant> Participants(RawCallLog call, TelephonyDirectory directory, out List<ChannelUser> channelUsers)
    {
        channelUsers = [];
        var connected = new List<CallLogParticipant>();
        foreach (var (channel, raw) in call.ChannelParticipants)
        {
            if (raw.Role is null || directory.FindByChannel(channel) is not { } found)
            {
                continue;
            }
            channelUsers.Add(new ChannelUser(raw, found.User, found.Line));
            connected.Add(new CallLogParticipant
            {
                UserUuid = found.User.Uuid,
                LineId = found.Line.Id,
                Tags = found.User.Tags,
                Role = raw.Role,
                Answered = raw.Answered ?? false,
                Requested = raw.Requested,
            });
        }

        var unreached = new List<CallLogParticipant>();
        var userUuids = call.ParticipantInfos.Select(p => p.UserUuid).Concat(connected.Select(p => p.UserUuid)).Distinct().ToList();
        foreach (var userUuid in userUuids)
        {
            var fromChannels = connected.Select((p, i) => (p, i)).Where(x => x.p.UserUuid == userUuid).ToList();
            var fromCel = call.ParticipantInfos.Where(p => p.UserUuid == userUuid).ToList();
            if (fromChannels.Count == 0)
            {
                // a user named by the dialplan but never reached through a channel
                if (directory.FindUser(userUuid) is not { } user)
                {
                    continue;
                }
                unreached.Add(new CallLogParticipant
                {
                    UserUuid = user.Uuid,
                    LineId = user.Lines.Count > 0 ? user.Lines[0].Id : null,
                    Tags = user.Tags,
                    Answered = false,
                    Role = fromCel[^1].Role,
                    Requested = fromCel[^1].Requested ?? false,
                });
            }
            else if (fromChannels.Count == fromCel.Count)
            {
                for (var i = 0; i < fromChannels.Count; i++)
                {
                    var (participant, index) = fromChannels[i];
                    connected[index] = participant with
                    {
                        Answered = channelUsers[index].Channel.Answered ?? fromCel[i].Answered ?? false,
                        Requested = fromCel[i].Requested ?? false,
                    };
                }
            }
        }
        return [.. connected, .. unreached];
    }

    private static void FillExtensionsFromParticipants(RawCallLog call, List<ChannelUser> channelUsers)
    {
        foreach (var source in channelUsers.Where(c => c.Channel.Role == ParticipantRoles.Source))
        {
            if (source.Line.Extensions.Count == 0)
            {
                continue;
            }
            var extension = source.Line.Extensions[0];
            if (string.IsNullOrEmpty(call.SourceInternalExten) || string.IsNullOrEmpty(call.SourceInternalContext))
            {
                call.SourceInternalExten = extension.Exten;
                call.SourceInternalContext = extension.Context;
            }
        }
        foreach (var destination in channelUsers.Where(c => c.Channel.Role == ParticipantRoles.Destination))
        {
            if (destination.Line.Extensions.Count == 0)
            {
                continue;
            }
            var extension = destination.Line.Extensions[0];
            if (destination.Channel.Answered == true
                || string.IsNullOrEmpty(call.DestinationInternalExten) || string.IsNullOrEmpty(call.DestinationInternalContext))
            {
                call.DestinationInternalExten = extension.Exten;
                call.DestinationInternalContext = extension.Context;
            }
            if (string.IsNullOrEmpty(call.RequestedInternalExten) || string.IsNullOrEmpty(call.RequestedInternalContext))
            {
                call.RequestedInternalExten = extension.Exten;
                call.RequestedInternalContext = extension.Context;
            }
        }
    }

    /// <summary>An unanswered call that reached a known mailbox has the voicemail as its destination.</summary>
    private static void ResolveVoicemail(RawCallLog call, TelephonyDirectory directory)
    {
        if (!call.ReachedVoicemail || call.DateAnswer is not null || call.VoicemailNumber is null)
        {
            return;
        }
        if (directory.FindVoicemail(call.VoicemailNumber, call.VoicemailContext) is not { } voicemail)
        {
            return;
        }
        call.DestinationDetails =
        [
            new("type", "voicemail"),
            new("voicemail_id", voicemail.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("voicemail_name", voicemail.Name),
        ];
    }
}
