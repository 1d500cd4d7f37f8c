using CallLogs.Contracts;
using CallLogs.Profile.Domain;
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

public sealed class EncryptionSettingValidator : AbstractValidator<EncryptionSetting>
{
    public EncryptionSettingValidator()
    {
        When(e => e.Enabled, () =>
        {
            RuleFor(e => e.IamRoleArn).NotEmpty().WithMessage("IAM Role ARN is required when bucket encryption is enabled.")
                .Must(v => AwsArns.IsIamRoleArn(v!)).When(e => !string.IsNullOrEmpty(e.IamRoleArn), ApplyConditionTo.CurrentValidator)
                .WithMessage("IAM Role ARN must look like arn:aws:iam::123456789012:role/RoleName.");
            RuleFor(e => e.CmkKeyArn).NotEmpty().WithMessage("CMK Key ARN is required when bucket encryption is enabled.")
                .Must(v => AwsArns.IsKmsKeyArn(v!)).When(e => !string.IsNullOrEmpty(e.CmkKeyArn), ApplyConditionTo.CurrentValidator)
                .WithMessage("CMK Key ARN must look like arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab.");
            RuleFor(e => e.IamRoleExternalId).NotEmpty().WithMessage("IAM Role External Id is required when bucket encryption is enabled.")
                .Must(v => AwsArns.IsExternalId(v!)).When(e => !string.IsNullOrEmpty(e.IamRoleExternalId), ApplyConditionTo.CurrentValidator)
                .WithMessage("IAM Role External Id must be 2 to 1224 characters of letters, digits and _+=,.@:/-.");
        });
    }
}

/// <summary>The filter rules of the seed: known fields and operators, status codes 100-599, one operator per field.</summary>
public static class FilterRules
{
    public const int MaxFilters = 100;

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
            else if (knownField && field == FilterField.ResponseCode && (!int.TryParse(filter.Value, out var code) || code is < 100 or > 599))
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

    public CreateExportProfileRequestValidator(TimeProvider clock)
    {
        RuleFor(r => r.Name).NotEmpty().WithMessage("Name is required.").MaximumLength(200);
        RuleFor(r => r.S3Bucket).ValidS3Bucket();
        RuleFor(r => r.Encryption!).SetValidator(new EncryptionSettingValidator()).When(r => r.Encryption is not null);
        RuleFor(r => r.UnmaskedCharacters).InclusiveBetween(0, MaxUnmasked)
            .WithMessage($"Number of characters to leave unmasked must be from 0 to {MaxUnmasked} (0 masks the whole value).");
        RuleFor(r => r.CollectFrom).NotNull().WithMessage("Collect from (the date and time collection starts) is required.")
            .Must(from => from > clock.GetUtcNow()).When(r => r.CollectFrom is not null, ApplyConditionTo.CurrentValidator)
            .WithMessage("Collect from must be in the future.");
        RuleFor(r => r.CollectUntil)
            .Must((r, until) => until > HourSnapping.ToNearestHour(r.CollectFrom!.Value))
            .When(r => r.CollectUntil is not null && r.CollectFrom is not null)
            .WithMessage(r => $"Collect until must be later than the start, which snaps to {HourSnapping.ToNearestHour(r.CollectFrom!.Value):yyyy-MM-ddTHH:mm:ssZ}.");
        RuleFor(r => r.Filters).Custom((filters, context) => FilterRules.Check(filters ?? [], context));
    }
}

public sealed class UpdateExportProfileRequestValidator : AbstractValidator<UpdateExportProfileRequest>
{
    public UpdateExportProfileRequestValidator()
    {
        RuleFor(r => r.Name).NotEmpty().WithMessage("Name must not be empty.").MaximumLength(200).When(r => r.Name is not null);
        RuleFor(r => r.S3Bucket).ValidS3Bucket().When(r => r.S3Bucket is not null);
        RuleFor(r => r.Encryption!).SetValidator(new EncryptionSettingValidator()).When(r => r.Encryption is not null);
        RuleFor(r => r.UnmaskedCharacters).InclusiveBetween(0, CreateExportProfileRequestValidator.MaxUnmasked)
            .WithMessage($"Number of characters to leave unmasked must be from 0 to {CreateExportProfileRequestValidator.MaxUnmasked} (0 masks the whole value).");
    }
}

public static class S3BucketRules
{
    /// <summary>Required; no URL scheme; a valid bucket name; an optional path without empty segments. One message, the first that applies.</summary>
    public static IRuleBuilderOptionsConditions<T, string?> ValidS3Bucket<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Custom((bucket, context) =>
        {
            var error = string.IsNullOrWhiteSpace(bucket) ? "S3 bucket is required: 'bucketName' or 'bucketName/additional/path'."
                : S3BucketSetting.HasUrlScheme(bucket) ? S3BucketSetting.UrlSchemeMessage
                : S3BucketSetting.BucketNameError(bucket) ?? S3BucketSetting.PathError(bucket);
            if (error is not null)
            {
                context.AddFailure(error);
            }
        });
}

public sealed class AreaNameValidator : AbstractValidator<string?>
{
    public AreaNameValidator() =>
        RuleFor(n => n).NotEmpty().WithMessage("Name is required.").MaximumLength(200);
}

public sealed class CreateAreaRequestValidator : AbstractValidator<CreateAreaRequest>
{
    public CreateAreaRequestValidator() => RuleFor(r => r.Name).SetValidator(new AreaNameValidator());
}

public sealed class RenameAreaRequestValidator : AbstractValidator<RenameAreaRequest>
{
    public RenameAreaRequestValidator() => RuleFor(r => r.Name).SetValidator(new AreaNameValidator());
}
