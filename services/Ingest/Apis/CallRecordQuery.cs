using FluentValidation;

namespace CallLogs.Ingest.Apis;

/// <summary>Query string of <c>GET .../call-records</c>: a time window (the last hour by default), filters and paging.</summary>
public sealed record CallRecordQuery
{
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? Until { get; init; }
    public string? ApiKey { get; init; }
    public string? Service { get; init; }
    public string? Endpoint { get; init; }
    public int? ResponseCode { get; init; }
    public string? SrcIp { get; init; }
    public int? Limit { get; init; }
    public string? ContinuationToken { get; init; }
    public string? Format { get; init; }

    /// <summary>The window asked for: <c>until</c> (default a minute from now) back to <c>from</c> (default an hour before it).</summary>
    public (DateTimeOffset Start, DateTimeOffset End) Window(DateTimeOffset now)
    {
        var end = Until ?? now.AddMinutes(1);
        return (From ?? (end.UtcTicks > TimeSpan.TicksPerHour ? end.AddHours(-1) : DateTimeOffset.MinValue), end);
    }
}

public sealed class CallRecordQueryValidator : AbstractValidator<CallRecordQuery>
{
    public CallRecordQueryValidator(TimeProvider clock)
    {
        RuleFor(q => q.ContinuationToken).Must(token => token is null || ContinuationToken.TryRead(token) is not null)
            .WithMessage("The continuation token is not one this API gave out; send the token of the previous page unchanged, or none for the first page.");
        RuleFor(q => q.Format).Must(format => format is null or "json" or "csv")
            .WithMessage("format must be json or csv (or leave it out and send Accept: text/csv for CSV).");
        RuleFor(q => q.Limit).InclusiveBetween(1, CallRecordsApi.MaxPageSize).WithMessage($"limit must be from 1 to {CallRecordsApi.MaxPageSize}.");
        RuleFor(q => q.ResponseCode).InclusiveBetween(100, 599).WithMessage("responseCode must be an HTTP status code from 100 to 599.");
        RuleFor(q => q.From).Must((q, _) => q.Window(clock.GetUtcNow()) is var (start, end) && start < end).WithMessage("from must be earlier than until.");
    }
}
