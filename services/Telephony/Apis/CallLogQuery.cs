using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Errors;
using CallLogs.Telephony.Domain;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace CallLogs.Telephony.Apis;

/// <summary>Query string of <c>GET .../telephony/call-logs</c>: wazo-call-logd's <c>/cdr</c> parameters.</summary>
public sealed record CallLogQuery
{
    public string? From { get; init; }
    public string? Until { get; init; }
    [FromQuery(Name = "call_direction")] public string? CallDirection { get; init; }
    public string? Search { get; init; }
    public string? Number { get; init; }
    public string? Tags { get; init; }
    [FromQuery(Name = "user_uuid")] public string? UserUuid { get; init; }
    [FromQuery(Name = "requested_internal_extension")] public string? RequestedInternalExtension { get; init; }
    [FromQuery(Name = "requested_internal_context")] public string? RequestedInternalContext { get; init; }
    [FromQuery(Name = "conversation_id")] public string? ConversationId { get; init; }
    public string? Order { get; init; }
    public string? Direction { get; init; }
    public int? Limit { get; init; }
    public int? Offset { get; init; }
    public string? Format { get; init; }
}

public sealed partial class CallLogQueryValidator : AbstractValidator<CallLogQuery>
{
    public const int MaxLimit = 10_000;
    public const int MaxText = 255;
    public const int MaxUsers = 100;
    public static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Latest = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly IReadOnlyList<string> OrderFields =
    [
        "start", "answer", "end", "duration", "call_direction", "source_name", "source_extension", "destination_name", "destination_extension",
        "requested_name", "requested_extension", "id",
    ];

    [GeneratedRegex(@"^_?[0-9*#+]+_?$")]
    public static partial Regex NumberPattern();

    [GeneratedRegex(@"^[0-9]+\.[0-9]+$")]
    public static partial Regex ConversationIdPattern();

    public CallLogQueryValidator()
    {
        RuleFor(q => q.From).Must(BeADate).OverridePropertyName("from").WithMessage("Send an ISO 8601 date and time from 1970 on, e.g. 2026-01-31T00:00:00Z.");
        RuleFor(q => q.Until).Must(BeADate).OverridePropertyName("until").WithMessage("Send an ISO 8601 date and time from 1970 on, e.g. 2026-02-01T00:00:00Z.");
        RuleFor(q => q.CallDirection).Must(d => d is null || CallDirections.All.Contains(d)).OverridePropertyName("call_direction")
            .WithMessage("One of: internal, inbound, outbound.");
        RuleFor(q => q.Search).Must(BeText).OverridePropertyName("search").WithMessage($"At most {MaxText} characters, without U+0000.");
        RuleFor(q => q.Number).Must(BeANumber).OverridePropertyName("number")
            .WithMessage("Digits (and * # +), with an optional '_' wildcard at the start and/or the end (e.g. _1234 or 555_).");
        RuleFor(q => q.Tags).Must(BeText).OverridePropertyName("tags").WithMessage($"A comma-separated list of tags, at most {MaxText} characters, without U+0000.");
        RuleFor(q => q.UserUuid).Must(BeUuids).OverridePropertyName("user_uuid").WithMessage($"A comma-separated list of user uuids (at most {MaxUsers}).");
        RuleFor(q => q.RequestedInternalExtension).Must(BeANumber).OverridePropertyName("requested_internal_extension")
            .WithMessage("An internal extension: digits (and * # +), with an optional '_' wildcard at either end.");
        RuleFor(q => q.RequestedInternalContext).Must(c => c is null || (c.Length is >= 1 and <= MaxText && StorableText.IsStorable(c)))
            .OverridePropertyName("requested_internal_context").WithMessage($"A context name, 1 to {MaxText} characters, without U+0000.");
        RuleFor(q => q.ConversationId).Must(c => c is null || (c.Length <= MaxText && ConversationIdPattern().IsMatch(c)))
            .OverridePropertyName("conversation_id").WithMessage("A conversation id: the call's first linkedid, e.g. 1718292864.11.");
        RuleFor(q => q.Order).Must(o => o is null || OrderFields.Contains(o)).OverridePropertyName("order")
            .WithMessage($"One of: {string.Join(", ", OrderFields)}.");
        RuleFor(q => q.Direction).Must(d => d is null or "asc" or "desc").OverridePropertyName("direction").WithMessage("asc or desc.");
        RuleFor(q => q.Limit).InclusiveBetween(0, MaxLimit).OverridePropertyName("limit").WithMessage($"A number of call logs from 0 to {MaxLimit}.");
        RuleFor(q => q.Offset).GreaterThanOrEqualTo(0).OverridePropertyName("offset").WithMessage("A number of call logs to skip, 0 or more.");
        RuleFor(q => q.Format).Must(f => f is null or "csv" or "json").OverridePropertyName("format").WithMessage("csv or json.");
    }

    private static bool BeText(string? s) => s is null || (s.Length <= MaxText && StorableText.IsStorable(s));

    private static bool BeANumber(string? n) => n is null || (n.Length <= MaxText && NumberPattern().IsMatch(n));

    private static bool BeUuids(string? u)
    {
        if (u is null)
        {
            return true;
        }

        var parts = u.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return parts.Length <= MaxUsers && parts.All(x => Guid.TryParse(x, out _));
    }

    private static bool BeADate(string? value) => value is null || (value.Length <= 64 && ParseDate(value) is { } d && d >= Earliest && d < Latest);

    public static DateTimeOffset? ParseDate(string? value) =>
        !string.IsNullOrEmpty(value) && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d)
            ? d : null;
}

/// <summary>A validated <see cref="CallLogQuery"/> applied to call logs: filters, order and page.</summary>
public sealed record CallLogFilters(CallLogQuery Query)
{
    public const int DefaultLimit = 1000;

    private static string LikeEscape(string s) => s.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    private static List<string> List(string? value) => (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    public IQueryable<TelephonyCallLog> Apply(IQueryable<TelephonyCallLog> query)
    {
        var q = Query;
        if (CallLogQueryValidator.ParseDate(q.From) is { } from)
        {
            query = query.Where(c => c.Start >= from);
        }

        if (CallLogQueryValidator.ParseDate(q.Until) is { } until)
        {
            query = query.Where(c => c.Start < until);
        }

        if (q.CallDirection is { } direction)
        {
            query = query.Where(c => c.CallDirection == direction);
        }

        if (!string.IsNullOrEmpty(q.Search))
        {
            var pattern = "%" + LikeEscape(q.Search) + "%";
            query = query.Where(c => EF.Functions.ILike(c.SourceName ?? "", pattern) || EF.Functions.ILike(c.SourceExtension ?? "", pattern)
                || EF.Functions.ILike(c.DestinationName ?? "", pattern) || EF.Functions.ILike(c.DestinationExtension ?? "", pattern));
        }

        if (q.Number is { } number)
        {
            var pattern = number.Replace('_', '%');
            query = query.Where(c => EF.Functions.Like(c.SourceExtension ?? "", pattern) || EF.Functions.Like(c.DestinationExtension ?? "", pattern));
        }

        foreach (var tag in List(q.Tags))
        {
            query = query.Where(c => c.Tags.Contains(tag));
        }

        // As in wazo-call-logd: a user's calls are those where the user is the source or the (final) destination, not
        // those the user only rang in (a group member who did not answer, a user who forwarded the call).
        var users = List(q.UserUuid).Select(Guid.Parse).ToList();
        if (users.Count > 0)
        {
            query = query.Where(c => (c.SourceUserUuid != null && users.Contains(c.SourceUserUuid.Value))
                || (c.DestinationUserUuid != null && users.Contains(c.DestinationUserUuid.Value)));
        }

        if (q.RequestedInternalExtension is { } requestedExtension)
        {
            var pattern = requestedExtension.Replace('_', '%');
            query = query.Where(c => EF.Functions.Like(c.RequestedInternalExtension ?? "", pattern));
        }

        if (q.RequestedInternalContext is { } requestedContext)
        {
            query = query.Where(c => c.RequestedInternalContext == requestedContext);
        }

        if (q.ConversationId is { } conversation)
        {
            query = query.Where(c => c.ConversationId == conversation);
        }

        return query;
    }

    public IQueryable<TelephonyCallLog> Page(IQueryable<TelephonyCallLog> q) =>
        Order(q, Query.Order ?? "start", (Query.Direction ?? "desc") == "desc").Skip(Query.Offset ?? 0).Take(Query.Limit ?? DefaultLimit);

    private static IQueryable<TelephonyCallLog> Order(IQueryable<TelephonyCallLog> q, string field, bool descending) => (field, descending) switch
    {
        ("answer", false) => q.OrderBy(c => c.Answer).ThenBy(c => c.Id),
        ("answer", true) => q.OrderByDescending(c => c.Answer).ThenByDescending(c => c.Id),
        ("end", false) => q.OrderBy(c => c.End).ThenBy(c => c.Id),
        ("end", true) => q.OrderByDescending(c => c.End).ThenByDescending(c => c.Id),
        ("duration", false) => q.OrderBy(c => c.End - c.Answer).ThenBy(c => c.Id),
        ("duration", true) => q.OrderByDescending(c => c.End - c.Answer).ThenByDescending(c => c.Id),
        ("call_direction", false) => q.OrderBy(c => c.CallDirection).ThenBy(c => c.Id),
        ("call_direction", true) => q.OrderByDescending(c => c.CallDirection).ThenByDescending(c => c.Id),
        ("source_name", false) => q.OrderBy(c => c.SourceName).ThenBy(c => c.Id),
        ("source_name", true) => q.OrderByDescending(c => c.SourceName).ThenByDescending(c => c.Id),
        ("source_extension", false) => q.OrderBy(c => c.SourceExtension).ThenBy(c => c.Id),
        ("source_extension", true) => q.OrderByDescending(c => c.SourceExtension).ThenByDescending(c => c.Id),
        ("destination_name", false) => q.OrderBy(c => c.DestinationName).ThenBy(c => c.Id),
        ("destination_name", true) => q.OrderByDescending(c => c.DestinationName).ThenByDescending(c => c.Id),
        ("destination_extension", false) => q.OrderBy(c => c.DestinationExtension).ThenBy(c => c.Id),
        ("destination_extension", true) => q.OrderByDescending(c => c.DestinationExtension).ThenByDescending(c => c.Id),
        ("requested_name", false) => q.OrderBy(c => c.RequestedName).ThenBy(c => c.Id),
        ("requested_name", true) => q.OrderByDescending(c => c.RequestedName).ThenByDescending(c => c.Id),
        ("requested_extension", false) => q.OrderBy(c => c.RequestedExtension).ThenBy(c => c.Id),
        ("requested_extension", true) => q.OrderByDescending(c => c.RequestedExtension).ThenByDescending(c => c.Id),
        ("id", false) => q.OrderBy(c => c.Id),
        ("id", true) => q.OrderByDescending(c => c.Id),
        (_, false) => q.OrderBy(c => c.Start).ThenBy(c => c.Id),
        _ => q.OrderByDescending(c => c.Start).ThenByDescending(c => c.Id),
    };
}

public sealed record CallLogPage(IReadOnlyList<TelephonyCallLog> Items, int Total, int Filtered);

/// <summary>Call logs as CSV (wazo-call-logd's columns, under their names), with a header line; tags joined with ';'.</summary>
public static class CallLogCsv
{
    private static readonly (string Name, Func<TelephonyCallLog, string?> Value)[] Columns =
    [
        ("id", l => l.Id.ToString(CultureInfo.InvariantCulture)),
        ("conversation_id", l => l.ConversationId),
        ("start", l => l.Start.ToString("O")),
        ("answer", l => l.Answer?.ToString("O")),
        ("end", l => l.End?.ToString("O")),
        ("duration", l => l.Duration?.ToString(CultureInfo.InvariantCulture)),
        ("answered", l => l.Answered ? "true" : "false"),
        ("call_direction", l => l.CallDirection),
        ("source_name", l => l.SourceName),
        ("source_extension", l => l.SourceExtension),
        ("source_internal_name", l => l.SourceInternalName),
        ("source_internal_extension", l => l.SourceInternalExtension),
        ("source_internal_context", l => l.SourceInternalContext),
        ("source_user_uuid", l => l.SourceUserUuid?.ToString()),
        ("requested_name", l => l.RequestedName),
        ("requested_extension", l => l.RequestedExtension),
        ("requested_context", l => l.RequestedContext),
        ("requested_internal_extension", l => l.RequestedInternalExtension),
        ("requested_internal_context", l => l.RequestedInternalContext),
        ("requested_user_uuid", l => l.RequestedUserUuid?.ToString()),
        ("destination_name", l => l.DestinationName),
        ("destination_extension", l => l.DestinationExtension),
        ("destination_internal_extension", l => l.DestinationInternalExtension),
        ("destination_internal_context", l => l.DestinationInternalContext),
        ("destination_user_uuid", l => l.DestinationUserUuid?.ToString()),
        ("user_field", l => l.UserField),
        ("tags", l => string.Join(';', l.Tags)),
    ];

    public static string Write(IEnumerable<TelephonyCallLog> logs)
    {
        var text = new StringBuilder();
        Csv.AppendRow(text, Columns.Select(c => c.Name));
        foreach (var log in logs)
        {
            Csv.AppendRow(text, Columns.Select(c => c.Value(log)));
        }

        return text.ToString();
    }
}
