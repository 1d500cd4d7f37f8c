using System.Text.RegularExpressions;

namespace CallLogs.Profile.Domain;

/// <summary>The forms of the ARNs and the external id a profile's bucket encryption needs.</summary>
public static partial class AwsArns
{
    /// <summary><c>arn:aws:iam::123456789012:role/name</c> (paths allowed, any AWS partition).</summary>
    public static bool IsIamRoleArn(string value) => IamRole().IsMatch(value);

    /// <summary><c>arn:aws:kms:us-east-1:123456789012:key/&lt;key id&gt;</c> (a multi-Region <c>mrk-</c> id allowed).</summary>
    public static bool IsKmsKeyArn(string value) => KmsKey().IsMatch(value);

    /// <summary>2 to 1224 characters of letters, digits and <c>+=,.@:/-</c> and underscore, as STS requires.</summary>
    public static bool IsExternalId(string value) => ExternalId().IsMatch(value);

    [GeneratedRegex(@"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")]
    private static partial Regex IamRole();

    [GeneratedRegex(@"^arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")]
    private static partial Regex KmsKey();

    [GeneratedRegex(@"^[\w+=,.@:/-]{2,1224}$")]
    private static partial Regex ExternalId();
}
