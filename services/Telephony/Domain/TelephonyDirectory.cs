namespace CallLogs.Telephony.Domain;

public sealed record Extension(string Exten, string Context);

public sealed record DirectoryLine
{
    public required int Id { get; init; }
    /// <summary>The part of a channel name between <c>TECH/</c> and the last <c>-</c>.</summary>
    public required string Name { get; init; }
    public IReadOnlyList<Extension> Extensions { get; init; } = [];
}

public sealed record DirectoryUser
{
    public required Guid Uuid { get; init; }
    public string? Name { get; init; }
    public string? UserField { get; init; }
    public IReadOnlyList<DirectoryLine> Lines { get; init; } = [];

    /// <summary>The user's <c>userfield</c> split on commas and trimmed.</summary>
    public IReadOnlyList<string> Tags => Domain.Tags.FromUserField(UserField);
}

public sealed record DirectoryVoicemail(int Id, string Name, string Number, string Context);

public static class Tags
{
    public static IReadOnlyList<string> FromUserField(string? userField) =>
        string.IsNullOrEmpty(userField) ? [] : userField.Split(',').Select(t => t.Trim()).ToList();
}

/// <summary>What an area's user directory knew when the call log was generated: the generator's only lookup.</summary>
public sealed class TelephonyDirectory
{
    public static readonly TelephonyDirectory Empty = new([], []);

    private readonly Dictionary<Guid, DirectoryUser> _users;
    private readonly Dictionary<string, (DirectoryUser User, DirectoryLine Line)> _lines;
    private readonly IReadOnlyList<DirectoryVoicemail> _voicemails;

    public TelephonyDirectory(IEnumerable<DirectoryUser> users, IEnumerable<DirectoryVoicemail> voicemails)
    {
        _users = [];
        _lines = new(StringComparer.OrdinalIgnoreCase);
        foreach (var user in users)
        {
            _users.TryAdd(user.Uuid, user);
            foreach (var line in user.Lines)
            {
                _lines.TryAdd(line.Name, (user, line));
            }
        }
        _voicemails = voicemails.ToList();
    }

    public DirectoryUser? FindUser(Guid uuid) => _users.GetValueOrDefault(uuid);

    /// <summary>The user behind a channel (<c>PJSIP/abc-0001</c> → line <c>abc</c>); none for Local channels.</summary>
    public (DirectoryUser User, DirectoryLine Line)? FindByChannel(string channel)
    {
        var parsed = ChannelNames.ProtocolInterface(channel);
        if (parsed is null || parsed.Value.Protocol.Equals("local", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return _lines.TryGetValue(parsed.Value.Interface, out var found) ? found : null;
    }

    public DirectoryVoicemail? FindVoicemail(string number, string? context) =>
        _voicemails.FirstOrDefault(v => v.Number == number && (context is null || v.Context == context));
}
