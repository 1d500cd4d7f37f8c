using CallLogs.Contracts;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CallLogs.Ingest.Data.Telephony;
using CallLogs.Ingest.Domain;
using CallLogs.Ingest.Domain.Telephony;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Ingest.Apis;

/// <summary>Query string of <c>GET .../telephony/call-logs</c> (the reference's <c>/cdr</c> parameters).</summary>
public sealed record CallLogQuery
{
    public string? From { get; init; }
    public string? Until { get; init; }
    [Microsoft.AspNetCore.Mvc.FromQuery(Name = "call_direction")] public string? CallDirection { get; init; }
    public string? Search { get; init; }
    public string? Number { get; init; }
    public string? Tags { get; init; }
    [Microsoft.AspNetCore.Mvc.FromQuery(Name = "user_uuid")] public string? UserUuid { get; init; }
    public string? Order { get; init; }
    public string? Direction { get; init; }
    public int? Limit { get; init; }
    public int? Offset { get; init; }
    public string? Format { get; init; }
}

public sealed record CallLogFilters(DateTimeOffset? From, DateTimeOffset? Until, string? CallDirection, string? Search, string? NumberPattern,
    IReadOnlyList<string> Tags, IReadOnlyList<Guid> UserUuids, string Order, bool Descending, int Limit, int Offset);

public static partial class TelephonyQuery
{
    public const int DefaultLimit = 1000;
    public static readonly string[] OrderFields = ["start", "answer", "end", "duration", "source_name", "source_exten", "destination_name", "destination_exten", "id"];

    [GeneratedRegex(@"^_?[0-9*#+]+_?$")]
    private static partial Regex NumberPattern();

    public static CallLogFilters Validate(CallLogQuery q)
    {
        var failures = new List<ValidationFailure>();
        DateTimeOffset? Date(string name, string? value)
        {
            if (string.IsNullOrEmpty(value)) return null;
            if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d)) return d;
            failures.Add(new ValidationFailure(name, "Send an ISO 8601 date and time, e.g. 2026-01-31T00:00:00Z."));
            return null;
        }
        var from = Date("from", q.From);
        var until = Date("until", q.Until);
        if (q.CallDirection is { } dir && !CallDirections.All.Contains(dir))
            failures.Add(new ValidationFailure("call_direction", "One of: internal, inbound, outbound."));
        if (q.Number is { } number && !NumberPattern().IsMatch(number))
            failures.Add(new ValidationFailure("number", "Digits, with an optional '_' wildcard at the start and/or the end (e.g. _1234 or 555_)."));
        var users = new List<Guid>();
        foreach (var u in (q.UserUuid ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Guid.TryParse(u, out var g)) users.Add(g);
            else failures.Add(new ValidationFailure("user_uuid", $"'{u}' is not a uuid; send a comma-separated list of user uuids."));
        }
        var order = q.Order ?? "start";
        if (!OrderFields.Contains(order))
            failures.Add(new ValidationFailure("order", $"One of: {string.Join(", ", OrderFields)}."));
        var direction = q.Direction ?? "desc";
        if (direction is not ("asc" or "desc"))
            failures.Add(new ValidationFailure("direction", "asc or desc."));
        if (q.Limit is < 0)
            failures.Add(new ValidationFailure("limit", "A number of call logs, 0 or more."));
        if (q.Offset is < 0)
            failures.Add(new ValidationFailure("offset", "A number of call logs to skip, 0 or more."));
        if (q.Format is { } format && format != "csv" && format != "json")
            failures.Add(new ValidationFailure("format", "csv or json."));
        if (failures.Count > 0)
            throw new ValidationException(failures);

        var tags = (q.Tags ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return new CallLogFilters(from, until, q.CallDirection, string.IsNullOrEmpty(q.Search) ? null : q.Search,
            q.Number?.Replace('_', '%'), tags, users, order, direction == "desc", q.Limit ?? DefaultLimit, q.Offset ?? 0);
    }

    private static string LikeEscape(string s) => s.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    public static IQueryable<TelephonyCallLog> Apply(IQueryable<TelephonyCallLog> query, CallLogFilters f)
    {
        if (f.From is { } from) query = query.Where(c => c.Date >= from);
        if (f.Until is { } until) query = query.Where(c => c.Date < until);
        if (f.CallDirection is { } direction) query = query.Where(c => c.Direction == direction);
        if (f.Search is { } search)
        {
            var pattern = "%" + LikeEscape(search) + "%";
            query = query.Where(c => EF.Functions.ILike(c.SourceName ?? "", pattern) || EF.Functions.ILike(c.SourceExten ?? "", pattern)
                || EF.Functions.ILike(c.DestinationName ?? "", pattern) || EF.Functions.ILike(c.DestinationExten ?? "", pattern));
        }
        if (f.NumberPattern is { } number)
            query = query.Where(c => EF.Functions.Like(c.SourceExten ?? "", number) || EF.Functions.Like(c.DestinationExten ?? "", number));
        foreach (var tag in f.Tags)
            query = query.Where(c => c.Tags.Contains(tag));
        if (f.UserUuids.Count > 0)
        {
            var users = f.UserUuids.ToList();
            query = query.Where(c => c.UserUuids.Any(u => users.Contains(u)));
        }
        return query;
    }

    public static IQueryable<TelephonyCallLog> Order(IQueryable<TelephonyCallLog> q, CallLogFilters f) => (f.Order, f.Descending) switch
    {
        ("answer", false) => q.OrderBy(c => c.DateAnswer).ThenBy(c => c.Id),
        ("answer", true) => q.OrderByDescending(c => c.DateAnswer).ThenByDescending(c => c.Id),
        ("end", false) => q.OrderBy(c => c.DateEnd).ThenBy(c => c.Id),
        ("end", true) => q.OrderByDescending(c => c.DateEnd).ThenByDescending(c => c.Id),
        ("duration", false) => q.OrderBy(c => c.DateEnd - c.DateAnswer).ThenBy(c => c.Id),
        ("duration", true) => q.OrderByDescending(c => c.DateEnd - c.DateAnswer).ThenByDescending(c => c.Id),
        ("source_name", false) => q.OrderBy(c => c.SourceName).ThenBy(c => c.Id),
        ("source_name", true) => q.OrderByDescending(c => c.SourceName).ThenByDescending(c => c.Id),
        ("source_exten", false) => q.OrderBy(c => c.SourceExten).ThenBy(c => c.Id),
        ("source_exten", true) => q.OrderByDescending(c => c.SourceExten).ThenByDescending(c => c.Id),
        ("destination_name", false) => q.OrderBy(c => c.DestinationName).ThenBy(c => c.Id),
        ("destination_name", true) => q.OrderByDescending(c => c.DestinationName).ThenByDescending(c => c.Id),
        ("destination_exten", false) => q.OrderBy(c => c.DestinationExten).ThenBy(c => c.Id),
        ("destination_exten", true) => q.OrderByDescending(c => c.DestinationExten).ThenByDescending(c => c.Id),
        ("id", false) => q.OrderBy(c => c.Id),
        ("id", true) => q.OrderByDescending(c => c.Id),
        (_, false) => q.OrderBy(c => c.Date).ThenBy(c => c.Id),
        _ => q.OrderByDescending(c => c.Date).ThenByDescending(c => c.Id),
    };
}

public sealed record CallLogPage(IReadOnlyList<CallLogResponse> Items, int Total, int Filtered);

public sealed record CallLogResponse
{
    public required long Id { get; init; }
    public required Guid AreaId { get; init; }
    public required string ConversationId { get; init; }
    public required DateTimeOffset Start { get; init; }
    public DateTimeOffset? Answer { get; init; }
    public DateTimeOffset? End { get; init; }
    public double? Duration { get; init; }
    public bool Answered { get; init; }
    public required string CallDirection { get; init; }
    public string? SourceName { get; init; }
    public string? SourceExtension { get; init; }
    public string? SourceInternalName { get; init; }
    public string? SourceInternalExtension { get; init; }
    public string? SourceInternalContext { get; init; }
    public string? SourceLineIdentity { get; init; }
    public Guid? SourceUserUuid { get; init; }
    public string? RequestedName { get; init; }
    public string? RequestedExtension { get; init; }
    public string? RequestedContext { get; init; }
    public string? RequestedInternalExtension { get; init; }
    public string? RequestedInternalContext { get; init; }
    public string? DestinationName { get; init; }
    public string? DestinationExtension { get; init; }
    public string? DestinationInternalExtension { get; init; }
    public string? DestinationInternalContext { get; init; }
    public string? DestinationLineIdentity { get; init; }
    public Guid? DestinationUserUuid { get; init; }
    public IReadOnlyList<DestinationDetail> DestinationDetails { get; init; } = [];
    public string? UserField { get; init; }
    public bool Blocked { get; init; }
    public bool ReachedVoicemail { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public IReadOnlyList<CallLogParticipant> Participants { get; init; } = [];

    public static CallLogResponse From(TelephonyCallLog c) => new()
    {
        Id = c.Id, AreaId = c.AreaId, ConversationId = c.ConversationId, Start = c.Date, Answer = c.DateAnswer, End = c.DateEnd,
        Duration = c.DateAnswer is { } a && c.DateEnd is { } e ? Math.Max(0, (e - a).TotalSeconds) : null,
        Answered = c.DateAnswer is not null, CallDirection = c.Direction,
        SourceName = c.SourceName, SourceExtension = c.SourceExten, SourceInternalName = c.SourceInternalName,
        SourceInternalExtension = c.SourceInternalExten, SourceInternalContext = c.SourceInternalContext,
        SourceLineIdentity = c.SourceLineIdentity, SourceUserUuid = c.SourceUserUuid,
        RequestedName = c.RequestedName, RequestedExtension = c.RequestedExten, RequestedContext = c.RequestedContext,
        RequestedInternalExtension = c.RequestedInternalExten, RequestedInternalContext = c.RequestedInternalContext,
        DestinationName = c.DestinationName, DestinationExtension = c.DestinationExten,
        DestinationInternalExtension = c.DestinationInternalExten, DestinationInternalContext = c.DestinationInternalContext,
        DestinationLineIdentity = c.DestinationLineIdentity, DestinationUserUuid = c.DestinationUserUuid,
        DestinationDetails = JsonSerializer.Deserialize<List<DestinationDetail>>(c.DestinationDetails, TelephonyGeneration.Json) ?? [],
        UserField = c.UserField, Blocked = c.Blocked, ReachedVoicemail = c.ReachedVoicemail, Tags = c.Tags,
        Participants = JsonSerializer.Deserialize<List<CallLogParticipant>>(c.Participants, TelephonyGeneration.Json) ?? [],
    };

    private static readonly string[] CsvHeader =
    [
        "id", "conversation_id", "start", "answer", "end", "duration", "answered", "call_direction", "source_name", "source_extension",
        "source_user_uuid", "requested_name", "requested_extension", "requested_context", "destination_name", "destination_extension",
        "destination_user_uuid", "user_field", "tags",
    ];

    /// <summary>CSV with a header line; tags joined with ';'.</summary>
    public static string ToCsv(IEnumerable<CallLogResponse> logs)
    {
        var text = new StringBuilder();
        Csv.AppendRow(text, CsvHeader);
        foreach (var l in logs)
        {
            Csv.AppendRow(text,
            [
                l.Id.ToString(CultureInfo.InvariantCulture), l.ConversationId, l.Start.ToString("O"), l.Answer?.ToString("O"), l.End?.ToString("O"),
                l.Duration?.ToString(CultureInfo.InvariantCulture), l.Answered ? "true" : "false", l.CallDirection, l.SourceName, l.SourceExtension,
                l.SourceUserUuid?.ToString(), l.RequestedName, l.RequestedExtension, l.RequestedContext, l.DestinationName, l.DestinationExtension,
                l.DestinationUserUuid?.ToString(), l.UserField, string.Join(';', l.Tags),
            ]);
        }
        return text.ToString();
    }
}
