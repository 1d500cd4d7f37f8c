using CallLogs.Audit.Domain;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.Extensions.Options;

namespace CallLogs.Audit.Apis;

/// <summary>
/// An event lookup's query: its time range always; page size and continuation token for a lookup (<see cref="Lookup"/>);
/// neither for a download, which answers every matching event at once (<see cref="Download"/>).
/// </summary>
public sealed class LookupRequestValidator : AbstractValidator<AuditApi.LookupRequest>
{
    public const string Lookup = "lookup";
    public const string Download = "download";

    public LookupRequestValidator(TimeProvider clock, IOptions<AuditOptions> options)
    {
        RuleSet(Lookup, () =>
        {
            RuleFor(r => r.MaxResults).InclusiveBetween(1, 50).WithMessage("maxResults must be between 1 and 50.");
            RuleFor(r => r.NextToken).Must(token => token is null || ContinuationToken.TryDecode(token, out _))
                .WithMessage("nextToken is not one this API returned; send the nextToken of the previous page, or none for the first page.");
        });
        RuleSet(Download, () => RuleFor(r => r).Custom((r, context) =>
        {
            if (r.MaxResults is not null || r.NextToken is not null)
            {
                context.AddFailure(new ValidationFailure(r.MaxResults is not null ? nameof(r.MaxResults) : nameof(r.NextToken),
                    "A download has every matching event in one answer: leave out maxResults and nextToken (narrow it with startTime and endTime)."));
            }
        }));
        RuleFor(r => r.StartTime).Must((r, _) => r.Range(clock.GetUtcNow(), options.Value.Retention) is var (start, end) && start <= end)
            .WithMessage("startTime must not be after endTime.");
    }
}

/// <summary>A trail validation's range, by the rule of <see cref="AuditApi.RangeFailure"/>.</summary>
public sealed class ValidationRangeQueryValidator : AbstractValidator<AuditApi.ValidationRangeQuery>
{
    public ValidationRangeQueryValidator(TimeProvider clock) =>
        RuleFor(q => q).Custom((q, context) =>
        {
            if (AuditApi.RangeFailure(q.StartTime, q.EndTime, clock.GetUtcNow()) is { } failure)
            {
                context.AddFailure(failure);
            }
        });
}
