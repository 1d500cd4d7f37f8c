using System.Globalization;
using CallLogs.Contracts;
using CallLogs.Profile.Domain;
using CallLogs.ServiceDefaults.Storage;
using FluentValidation;

namespace CallLogs.Profile.Apis;

/// <summary>The names the API uses for filter fields and operators, and their contract values.</summary>
public static class FilterNames
{
    public static readonly IReadOnlyDictionary<string, FilterField> Fields = new Dictionary<string, FilterField>(StringComparer.OrdinalIgnoreCase)
    {
        ["apiDefinition"] = FilterField.ApiDefinition,
        ["apiKey"] = FilterField.ApiKey,
        ["responseCode"] = FilterField.ResponseCode,
    };

    public static readonly IReadOnlyDictionary<string, FilterOperator> Operators = new Dictionary<string, FilterOperator>(StringComparer.OrdinalIgnoreCase)
    {
        ["is"] = FilterOperator.Is,
        ["is not"] = FilterOperator.IsNot,
    };

    public static string Name(FilterField field) => Fields.First(f => f.Value == field).Key;

    public static string Name(FilterOperator op) => Operators.First(o => o.Value == op).Key;
}

/// <summary>Free text the API stores: no control characters (TAB, LF, NUL, DEL...) and no invisible format characters.</summary>
public static class TextRules
{
    public static bool IsPrintable(string? value) =>
        value is null || !value.Any(c => char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format);

    public static IRuleBuilderOptions<T, string?> Printable<T>(this IRuleBuilder<T, string?> rule, string field) =>
        rule.Must(IsPrintable).WithMessage($"{field} must not contain control characters (TAB, line feed, NUL...) or invisible format characters.");

    /// <summary>A rule that fails with <paramref name="error"/>'s answer for the value (the <see cref="S3DestinationRules"/> shape).</summary>
    public static IRuleBuilderOptionsConditions<T, string?> Satisfies<T>(this IRuleBuilder<T, string?> rule, Func<string?, string?> error) =>
        rule.Custom((value, context) =>
        {
            if (error(value) is { } message)
            {
                context.AddFailure(message);
            }
        });
}

/// <summary>Bucket encryption: when on, a role ARN, a KMS key ARN of the same partition and an external id, as <see cref="S3DestinationRules"/> judges them.</summary>
public sealed class EncryptionSettingValidator : AbstractValidator<EncryptionSetting>
{
    public EncryptionSettingValidator()
    {
        When(e => e.Enabled, () =>
        {
            RuleFor(e => e.IamRoleArn).Satisfies(S3DestinationRules.RoleArnError);
            RuleFor(e => e.CmkKeyArn).Satisfies(S3DestinationRules.KmsKeyArnError);
            RuleFor(e => e.CmkKeyArn)
                .Must((e, key) => Partition(key) == Partition(e.IamRoleArn))
                .When(e => S3DestinationRules.RoleArnError(e.IamRoleArn) is null && S3DestinationRules.KmsKeyArnError(e.CmkKeyArn) is null)
                .WithMessage(e => $"CMK Key ARN is in the partition '{Partition(e.CmkKeyArn)}' but the IAM Role ARN in '{Partition(e.IamRoleArn)}': the role can only use a key of its own partition.");
            RuleFor(e => e.IamRoleExternalId).Satisfies(S3DestinationRules.ExternalIdError);
        });
    }

    private static string Partition(string? arn) => arn!.Split(':')[1];
}

/// <summary>The filter rules of an export profile: known fields and operators, status codes 100-599, one operator per field.</summary>
public static class FilterRules
{
    public const int MaxFilters = 100;
    public const int MaxValueLength = 256;

    public static void Check<T>(IReadOnlyList<FilterSetting?> filters, ValidationContext<T> context)
    {
        if (filters.Count > MaxFilters)
        {
            context.AddFailure("filters", $"At most {MaxFilters} filters are allowed.");
        }

        var first = new Dictionary<FilterField, (string Operator, int Index)>();
        for (var i = 0; i < filters.Count; i++)
        {
            var at = $"filters[{i}]";
            var filter = filters[i];
            if (filter is null)
            {
                context.AddFailure(at, "A filter must be an object with field, operator and value.");
                continue;
            }

            var knownField = FilterNames.Fields.TryGetValue(filter.Field ?? "", out var field);
            var knownOperator = FilterNames.Operators.ContainsKey(filter.Operator ?? "");
            if (!knownField)
            {
                context.AddFailure($"{at}.field", "Field must be one of: apiDefinition (API Definition), apiKey (API Key), responseCode (Response Code).");
            }

            if (!knownOperator)
            {
                context.AddFailure($"{at}.operator", "Operator must be \"is\" or \"is not\".");
            }

            if (string.IsNullOrWhiteSpace(filter.Value))
            {
                context.AddFailure($"{at}.value", "Value is required.");
            }
            else if (filter.Value.Length > MaxValueLength)
            {
                context.AddFailure($"{at}.value", $"Value must be at most {MaxValueLength} characters.");
            }
            else if (!TextRules.IsPrintable(filter.Value) || filter.Value.Trim().Length != filter.Value.Length)
            {
                context.AddFailure($"{at}.value",
                    "Value must not contain control characters, nor begin or end with whitespace: it is compared exactly as sent, nothing is trimmed.");
            }
            else if (knownField && field == FilterField.ResponseCode
                && (!int.TryParse(filter.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var code) || code is < 100 or > 599))
            {
                context.AddFailure($"{at}.value", "A Response Code value must be an HTTP status code from 100 to 599.");
            }

            if (!knownField || !knownOperator)
            {
                continue;
            }

            // Within one field every filter uses the operator of the first one; different fields may differ.
            var op = filter.Operator!.ToLowerInvariant();
            if (!first.TryGetValue(field, out var earlier))
            {
                first[field] = (op, i);
            }
            else if (earlier.Operator != op)
            {
                context.AddFailure($"{at}.operator",
                    $"Filters on {FilterNames.Name(field)} must all use the same operator: filters[{earlier.Index}] uses \"{earlier.Operator}\", so this one cannot use \"{op}\". Use \"{earlier.Operator}\" here, or filter on another field.");
            }
        }
    }
}

public sealed class CreateExportProfileRequestValidator : AbstractValidator<CreateExportProfileRequest>
{
    public const int MaxUnmasked = 127;

    /// <summary>How far ahead collection may start: further is surely a typo (3026 for 2026), and it keeps hour arithmetic in range.</summary>
    public static readonly TimeSpan MaxStartAhead = TimeSpan.FromDays(10 * 365);

    /// <summary>How far ahead collection may end; no end at all runs until the profile is disabled or deleted.</summary>
    public static readonly TimeSpan MaxEndAhead = TimeSpan.FromDays(100 * 365);

    public CreateExportProfileRequestValidator(TimeProvider clock)
    {
        RuleFor(r => r.Name).NotEmpty().WithMessage("Name is required.").MaximumLength(200).Printable("Name");
        RuleFor(r => r.S3Bucket).Satisfies(S3DestinationRules.BucketPathError);
        RuleFor(r => r.Encryption!).SetValidator(new EncryptionSettingValidator()).When(r => r.Encryption is not null);
        RuleFor(r => r.UnmaskedCharacters).InclusiveBetween(0, MaxUnmasked)
            .WithMessage($"Number of characters to leave unmasked must be from 0 to {MaxUnmasked} (0 masks the whole value).");
        RuleFor(r => r.CollectFrom).Cascade(CascadeMode.Stop)
            .NotNull().WithMessage("Collect from (the date and time collection starts) is required.")
            .Must(from => from > clock.GetUtcNow()).WithMessage("Collect from must be in the future.")
            .Must(from => from <= clock.GetUtcNow() + MaxStartAhead)
            .WithMessage(_ => $"Collect from must be at most 10 years ahead (before {clock.GetUtcNow() + MaxStartAhead:yyyy-MM-dd}).");
        RuleFor(r => r.CollectUntil).Cascade(CascadeMode.Stop)
            .Must(until => until <= clock.GetUtcNow() + MaxEndAhead)
            .WithMessage("Collect until must be at most 100 years ahead; leave it out to collect until the profile is disabled or deleted.")
            .Must((r, until) => until > HourSnapping.ToNearestHour(r.CollectFrom!.Value)).When(r => r.CollectFrom is not null, ApplyConditionTo.CurrentValidator)
            .WithMessage(r => $"Collect until must be later than the start, which snaps to {HourSnapping.ToNearestHour(r.CollectFrom!.Value):yyyy-MM-ddTHH:mm:ssZ}.")
            .When(r => r.CollectUntil is not null);
        RuleFor(r => r.Filters).Custom((filters, context) => FilterRules.Check(filters ?? [], context));
    }
}

public sealed class UpdateExportProfileRequestValidator : AbstractValidator<UpdateExportProfileRequest>
{
    public UpdateExportProfileRequestValidator()
    {
        RuleFor(r => r.Name).NotEmpty().WithMessage("Name must not be empty.").MaximumLength(200).Printable("Name").When(r => r.Name is not null);
        RuleFor(r => r.S3Bucket).Satisfies(S3DestinationRules.BucketPathError).When(r => r.S3Bucket is not null);
        RuleFor(r => r.Encryption!).SetValidator(new EncryptionSettingValidator()).When(r => r.Encryption is not null);
        RuleFor(r => r.UnmaskedCharacters).InclusiveBetween(0, CreateExportProfileRequestValidator.MaxUnmasked)
            .WithMessage($"Number of characters to leave unmasked must be from 0 to {CreateExportProfileRequestValidator.MaxUnmasked} (0 masks the whole value).");
    }
}

/// <summary>Paging of lists: pages from 1, at most <see cref="MaxPageSize"/> items each, so an offset always fits.</summary>
public sealed class PageQueryValidator : AbstractValidator<PageQuery>
{
    public const int MaxPageSize = 200;
    public const int MaxPage = 1_000_000;

    public PageQueryValidator()
    {
        RuleFor(q => q.PageNumber).InclusiveBetween(1, MaxPage).OverridePropertyName("page").WithMessage($"page must be a whole number from 1 to {MaxPage}.");
        RuleFor(q => q.Size).InclusiveBetween(1, MaxPageSize).OverridePropertyName("pageSize").WithMessage($"pageSize must be a whole number from 1 to {MaxPageSize}.");
    }
}

public sealed class AreaNameValidator : AbstractValidator<string?>
{
    public AreaNameValidator() =>
        RuleFor(n => n).NotEmpty().WithMessage("Name is required.").MaximumLength(200).Printable("Name");
}

public sealed class CreateAreaRequestValidator : AbstractValidator<CreateAreaRequest>
{
    // A child validator skips null values, so a missing name is refused here.
    public CreateAreaRequestValidator() => RuleFor(r => r.Name).NotNull().WithMessage("name is required: the area's name.").SetValidator(new AreaNameValidator());
}

public sealed class RenameAreaRequestValidator : AbstractValidator<RenameAreaRequest>
{
    public RenameAreaRequestValidator() => RuleFor(r => r.Name).NotNull().WithMessage("name is required: the area's new name.").SetValidator(new AreaNameValidator());
}
