namespace CallLogs.Telephony.Domain;

/// <summary>
/// One Asterisk CEL row, as the PBX wrote it (the Asterisk CEL columns; empty columns are ""), and the call log made
/// from it, if any. Stored as it is, in its area.
/// </summary>
public sealed record CelRow
{
    public required long Id { get; init; }
    public required string EventType { get; init; }
    public required DateTimeOffset EventTime { get; init; }
    public string UserDefType { get; init; } = "";
    public string CidName { get; init; } = "";
    public string CidNum { get; init; } = "";
    public string CidAni { get; init; } = "";
    public string CidRdnis { get; init; } = "";
    public string CidDnid { get; init; } = "";
    public string Exten { get; init; } = "";
    public string Context { get; init; } = "";
    public string ChanName { get; init; } = "";
    public string AppName { get; init; } = "";
    public string AppData { get; init; } = "";
    public int AmaFlags { get; init; }
    public string AccountCode { get; init; } = "";
    public string PeerAccount { get; init; } = "";
    public required string UniqueId { get; init; }
    public required string LinkedId { get; init; }
    public string UserField { get; init; } = "";
    public string Peer { get; init; } = "";
    public string Extra { get; init; } = "";
    /// <summary>The call log generated from this row; none while unprocessed. Set on a new row when its call log is made.</summary>
    public long? CallLogId { get; set; }
}

/// <summary>CEL event types the generator reads.</summary>
public static class CelEventTypes
{
    public const string ChanStart = "CHAN_START";
    public const string ChanEnd = "CHAN_END";
    public const string AppStart = "APP_START";
    public const string Answer = "ANSWER";
    public const string BridgeStart = "BRIDGE_START";
    public const string BridgeEnter = "BRIDGE_ENTER";
    public const string LinkedIdEnd = "LINKEDID_END";
    public const string XivoFromS = "XIVO_FROM_S";
    public const string XivoIncall = "XIVO_INCALL";
    public const string XivoOutcall = "XIVO_OUTCALL";
    public const string XivoUserFwd = "XIVO_USER_FWD";
    public const string WazoMeetingName = "WAZO_MEETING_NAME";
    public const string WazoConference = "WAZO_CONFERENCE";
    public const string WazoUserMissedCall = "WAZO_USER_MISSED_CALL";
    public const string WazoUserBlockedCall = "WAZO_USER_BLOCKED_CALL";
    public const string WazoCallLogDestination = "WAZO_CALL_LOG_DESTINATION";
    public const string WazoCallLogRequestedInternal = "WAZO_CALL_LOG_REQUESTED_INTERNAL";
    public const string WazoOriginateAllLines = "WAZO_ORIGINATE_ALL_LINES";
}
