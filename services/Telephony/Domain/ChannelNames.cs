using System.Text.RegularExpressions;

namespace CallLogs.Telephony.Domain;

public static partial class ChannelNames
{
    [GeneratedRegex(@"(pjsip|sip|sccp|local|dahdi|iax2)/([#+*\w@/-]+)-", RegexOptions.IgnoreCase)]
    private static partial Regex ChannelPattern();

    /// <summary>
    /// Line identity of a channel: lower-cased technology/name without the suffix after the last <c>-</c>
    /// (<c>SIP/as2mkq-00000021</c> is <c>sip/as2mkq</c>); Local channels keep their <c>;1</c>/<c>;2</c> end.
    /// </summary>
    public static string LineIdentity(string channel)
    {
        var lastDash = channel.LastIndexOf('-');
        var head = lastDash < 0 ? channel : channel[..lastDash];
        var end = channel.StartsWith("Local/", StringComparison.Ordinal) && channel.Length >= 2 ? channel[^2..] : "";
        return head.ToLowerInvariant() + end;
    }

    /// <summary>Technology and interface (line name) of a channel, or null when it is not a line channel.</summary>
    public static (string Protocol, string Interface)? ProtocolInterface(string channel)
    {
        var match = ChannelPattern().Match(channel);
        return match.Success ? (match.Groups[1].Value, match.Groups[2].Value) : null;
    }
}
