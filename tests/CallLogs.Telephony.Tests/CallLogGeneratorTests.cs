using CallLogs.Contracts;
using CallLogs.Telephony.Domain;

namespace CallLogs.Telephony.Tests;

public sealed class CallLogGeneratorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);
    private long _id;

    private CelRow Row(string type, string channel, string uniqueId, string linkedId, int second, string cidName = "Alice", string cidNum = "1001", string exten = "1002") => new()
    {
        Id = ++_id, EventType = type, EventTime = T0.AddSeconds(second), ChanName = channel,
        UniqueId = uniqueId, LinkedId = linkedId, CidName = cidName, CidNum = cidNum, Exten = exten, Context = "default",
    };

    private List<CelRow> AnsweredCall(string linkedId, int at = 0) =>
    [
        Row("CHAN_START", "SIP/alice-01", linkedId, linkedId, at),
        Row("CHAN_START", "SIP/bob-02", linkedId + "b", linkedId, at + 1, "Bob", "1002", "s"),
        Row("BRIDGE_ENTER", "SIP/alice-01", linkedId, linkedId, at + 3),
        Row("BRIDGE_ENTER", "SIP/bob-02", linkedId + "b", linkedId, at + 3, "Bob", "1002", ""),
        Row("CHAN_END", "SIP/bob-02", linkedId + "b", linkedId, at + 10, "Bob", "1002", ""),
        Row("CHAN_END", "SIP/alice-01", linkedId, linkedId, at + 11),
        Row("LINKEDID_END", "SIP/alice-01", linkedId, linkedId, at + 12),
    ];

    private static TelephonyDirectory Directory(string aliceField, string bobField) => new(
    [
        new DirectoryUser { Uuid = Guid.Parse("00000000-0000-0000-0000-00000000000a"), UserField = aliceField, Lines = [new DirectoryLine { Id = 1, Name = "alice" }] },
        new DirectoryUser { Uuid = Guid.Parse("00000000-0000-0000-0000-00000000000b"), UserField = bobField, Lines = [new DirectoryLine { Id = 2, Name = "BOB" }] },
    ], []);

    [Fact]
    public void A_call_log_carries_the_union_of_its_participants_userfield_tags_split_on_commas_and_trimmed()
    {
        var log = Assert.Single(CallLogGenerator.Generate(AnsweredCall("1.1"), Directory(" sales , paris", "sales,support "))).CallLog;

        Assert.Equal(["sales", "paris", "support"], log.Tags);
        Assert.Equal(2, log.Participants.Count);
        Assert.True(log.Participants.Single(p => p.Role == ParticipantRoles.Destination).Answered);
    }

    [Fact]
    public void A_call_without_LINKEDID_END_gives_no_call_log_until_it_ends()
    {
        var rows = AnsweredCall("1.1");
        Assert.Empty(CallLogGenerator.Generate(rows.Take(rows.Count - 1), TelephonyDirectory.Empty));
        Assert.Single(CallLogGenerator.Generate(rows, TelephonyDirectory.Empty));
    }

    [Fact]
    public void Linkedids_that_share_a_channel_are_one_call_complete_only_when_every_linkedid_ended()
    {
        var first = AnsweredCall("1.1");
        // a second linkedid in which the first call's callee channel also appears (a pickup)
        var second = new List<CelRow>
        {
            Row("CHAN_START", "SIP/carol-03", "2.1", "2.1", 20, "Carol", "1003"),
            Row("BRIDGE_ENTER", "SIP/bob-02", "1.1b", "2.1", 21, "Bob", "1002", ""),
            Row("CHAN_END", "SIP/carol-03", "2.1", "2.1", 25, "Carol", "1003"),
        };
        Assert.Empty(CallLogGenerator.Generate([.. first, .. second], TelephonyDirectory.Empty));

        var ended = second.Append(Row("LINKEDID_END", "SIP/carol-03", "2.1", "2.1", 26, "Carol", "1003")).ToList();
        var log = Assert.Single(CallLogGenerator.Generate([.. first, .. ended], TelephonyDirectory.Empty));
        Assert.Equal("1.1", log.CallLog.ConversationId);
        Assert.Equal(first.Count + ended.Count, log.CelIds.Count);
    }

    [Fact]
    public void Duration_is_end_minus_answer_and_null_when_unanswered()
    {
        var log = Assert.Single(CallLogGenerator.Generate(AnsweredCall("1.1"), TelephonyDirectory.Empty)).CallLog;
        Assert.Equal(8.0, log.Duration);

        var unanswered = AnsweredCall("2.1").Where(r => r.EventType != "BRIDGE_ENTER");
        Assert.Null(Assert.Single(CallLogGenerator.Generate(unanswered, TelephonyDirectory.Empty)).CallLog.Duration);
    }

    [Fact]
    public void Generating_the_same_rows_twice_gives_equal_call_logs()
    {
        var rows = AnsweredCall("1.1").Concat(AnsweredCall("3.1", 100)).ToList();
        var once = CallLogGenerator.Generate(rows, Directory("a", "b"));
        var twice = CallLogGenerator.Generate(rows.AsEnumerable().Reverse(), Directory("a", "b"));
        Assert.Equal(
            once.Select(l => System.Text.Json.JsonSerializer.Serialize(l)).Order(),
            twice.Select(l => System.Text.Json.JsonSerializer.Serialize(l)).Order());
    }

    [Theory]
    [InlineData("SIP/as2mkq-00000021", "sip/as2mkq")]
    [InlineData("PJSIP/dev_34-1-00000003", "pjsip/dev_34-1")]
    [InlineData("Local/1002@default-00000001;2", "local/1002@default;2")]
    public void A_channel_name_gives_its_line_identity(string channel, string identity) =>
        Assert.Equal(identity, ChannelNames.LineIdentity(channel));

    [Fact]
    public void A_call_whose_dialplan_event_is_unreadable_gets_no_call_log_and_the_others_still_do()
    {
        var broken = AnsweredCall("1.1");
        broken.Insert(1, Row("WAZO_CALL_LOG_DESTINATION", "SIP/alice-01", "1.1", "1.1", 0) with { Extra = "{\"extra\":\"type\"}" });
        var logs = CallLogGenerator.Generate(broken.Concat(AnsweredCall("3.1", 100)), TelephonyDirectory.Empty, out var failures);

        Assert.Equal("3.1", Assert.Single(logs).CallLog.ConversationId);
        Assert.Equal("1.1", Assert.Single(failures).ConversationId);
    }
}
