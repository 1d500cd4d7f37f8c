using System.Buffers.Text;
using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallLogs.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CallLogs.ServiceDefaults.Secrets;

public static class SecretSealExtensions
{
    /// <summary>The <see cref="SecretSeal"/> of a service that reads call records; a missing or short Sealing:Key stops it at start.</summary>
    public static IHostApplicationBuilder AddSecretSeal(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SealingOptions>().BindConfiguration(SealingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<SecretSeal>();
        return builder;
    }
}

public sealed class SealingOptions : IValidatableObject
{
    public const string SectionName = "Sealing";
    public const int MinKeyLength = 32;

    /// <summary>
    /// The secret every call record's API key and OAuth token are sealed with before they are stored or sent: at least
    /// 32 characters of a random string (the AppHost generates one and keeps it in its user secrets). Every service that
    /// seals or opens secrets (profile, ingest, export, stream) must have the same.
    /// </summary>
    [Required(ErrorMessage = "Sealing:Key is missing: set it to a random string of at least 32 characters, the same for profile, ingest, export and stream.")]
    public string Key { get; set; } = "";

    /// <summary>Keys used before <see cref="Key"/>: what they sealed is still read, nothing new is sealed with them.</summary>
    public List<string> RetiredKeys { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Key.Length is > 0 and < MinKeyLength)
        {
            yield return new ValidationResult($"Sealing:Key has {Key.Length} characters; give a random string of at least {MinKeyLength}.", [nameof(Key)]);
        }

        if (RetiredKeys.Any(k => k.Length < MinKeyLength))
        {
            yield return new ValidationResult($"Every Sealing:RetiredKeys entry needs at least {MinKeyLength} characters: remove the short one.", [nameof(RetiredKeys)]);
        }
    }
}

/// <summary>A sealed secret that cannot be opened: its key is neither Sealing:Key nor one of Sealing:RetiredKeys, or it was altered.</summary>
public sealed class SealedSecretException(string message) : Exception(message);

/// <summary>
/// The secrets of call records (their API key and OAuth token) are never stored or sent in clear: ingest seals them as
/// it accepts a record, in their own fields and wherever else they appear in full (in <c>uri</c>, <c>request_id</c>,
/// <c>referrer</c>, an unknown field...), so its database, the broker, the export's staging and every outbox only ever
/// hold sealed ones. A service opens them where a record leaves the platform: the export's CSV, a stream frame, the
/// call records API (each then masks by its own rule). The profile service seals an export profile's secrets (its IAM
/// role's external id, the API keys of its filters) the same way; export opens them where it uses them.
/// </summary>
/// <remarks>
/// <para>A sealed secret is <c>\u0001</c>, the key's 8-character id, the base64url of nonce, AES-256-GCM ciphertext and
/// tag, and <c>\u0002</c>: no known field of a gateway's record can hold a control character (ingest refuses it), and
/// in an unknown field, which may, a text that is no secret sealed with one of the service's keys stays as it is. Sealing is deterministic (the nonce is an HMAC of the secret under a second key, as in
/// SIV): the same key seals to the same text, which keeps the filters on API keys an equality test and reveals only
/// which records share a key. Both keys are derived from Sealing:Key by HKDF.</para>
/// <para>A secret shorter than <see cref="Masking.MinEmbeddedLength"/> is sealed in its own field only, as masking masks
/// it there only: so short a string turns up by chance in other text. <c>request_uuid</c>, the record's identity, is
/// never changed.</para>
/// </remarks>
public sealed class SecretSeal
{
    public const char Start = '\u0001';
    public const char End = '\u0002';
    private const int IdLength = 8;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private static readonly int ApiKeyColumn = CallRecordFields.IndexOf("api_key");
    private static readonly int TokenColumn = CallRecordFields.IndexOf("oauth_access_token");

    /// <summary>How many secrets each cache holds before it starts over (a few megabytes at most).</summary>
    private const int CacheSize = 16_384;

    private readonly SealKey _current;
    private readonly Dictionary<string, SealKey> _keys;
    // A gateway's traffic carries few keys many times: each is sealed and opened once per process, not once per record.
    private readonly ConcurrentDictionary<string, string> _sealed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _opened = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _openedBySpan;

    public SecretSeal(IOptions<SealingOptions> options)
    {
        _current = new SealKey(options.Value.Key);
        _keys = new Dictionary<string, SealKey>(StringComparer.Ordinal) { [_current.Id] = _current };
        foreach (var retired in options.Value.RetiredKeys.Select(k => new SealKey(k)))
        {
            _keys.TryAdd(retired.Id, retired);
        }

        _openedBySpan = _opened.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The secret sealed with the current key.</summary>
    public string Seal(string secret)
    {
        if (_sealed.TryGetValue(secret, out var known))
        {
            return known;
        }

        var sealedText = _current.Seal(secret);
        Remember(_sealed, secret, sealedText);
        Remember(_opened, sealedText, secret);
        return sealedText;
    }

    private static void Remember(ConcurrentDictionary<string, string> cache, string key, string value)
    {
        if (cache.Count >= CacheSize)
        {
            cache.Clear();
        }

        cache[key] = value;
    }

    /// <summary>
    /// Every form a stored value equal to <paramref name="secret"/> can have: sealed with the current key, with each
    /// retired one, and in clear (a record stored before secrets were sealed). A filter on API keys matches any of them.
    /// </summary>
    public string[] StoredForms(string secret) => [secret, .. _keys.Values.Select(k => k.Seal(secret)).Distinct()];

    /// <summary>
    /// The value with every sealed secret in it opened; a value without one is returned as it is. A control character
    /// that does not start a secret sealed with a key of this service is text of the gateway's (an unknown field may
    /// hold any) and stays; a secret sealed with one of its keys that does not open was altered
    /// (<see cref="SealedSecretException"/>).
    /// </summary>
    public string? Open(string? value)
    {
        if (value is null || value.IndexOf(Start) < 0)
        {
            return value;
        }

        var text = new StringBuilder(value.Length);
        var at = 0;
        while (value.IndexOf(Start, at) is var start and >= 0)
        {
            var end = value.IndexOf(End, start);
            if (end > start && _openedBySpan.TryGetValue(value.AsSpan(start, end - start + 1), out var known))
            {
                text.Append(value, at, start - at).Append(known);
                at = end + 1;
            }
            else if (end - start - 1 > IdLength && _keys.TryGetValue(value.Substring(start + 1, IdLength), out var key)
                && key.Open(value.AsSpan(start + 1 + IdLength, end - start - 1 - IdLength)) is { } secret)
            {
                Remember(_opened, value[start..(end + 1)], secret);
                text.Append(value, at, start - at).Append(secret);
                at = end + 1;
            }
            else
            {
                text.Append(value, at, start + 1 - at);
                at = start + 1;
            }
        }

        return text.Append(value, at, value.Length - at).ToString();
    }

    /// <summary>
    /// A record's values (in the order of <see cref="CallRecordFields.Names"/>) opened, in place; the array is returned.
    /// </summary>
    public string?[] Open(string?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Open(values[i]);
        }

        EnsureOpen(values[ApiKeyColumn]);
        EnsureOpen(values[TokenColumn]);
        return values;
    }

    /// <summary>
    /// Throws unless <paramref name="secret"/>, a record's own API key or token after opening, is open: such a field
    /// never holds a control character of the gateway's, so one left is a secret sealed with a key this service lacks.
    /// </summary>
    public static void EnsureOpen(string? secret)
    {
        if (secret?.IndexOf(Start) >= 0)
        {
            throw new SealedSecretException(
                "A record's secret is sealed with a key that is neither Sealing:Key nor one of Sealing:RetiredKeys: give the key it was sealed with as a retired key.");
        }
    }

    /// <summary>The record with its API key and OAuth token sealed, in their own fields and wherever else they appear.</summary>
    public CallRecord Seal(CallRecord record)
    {
        if (record.ApiKey is not { Length: > 0 } && record.OauthAccessToken is not { Length: > 0 })
        {
            return record;
        }

        var secrets = new List<(string Secret, string Sealed)>(2);
        foreach (var secret in (ReadOnlySpan<string?>)[record.ApiKey, record.OauthAccessToken])
        {
            if (secret is { Length: >= Masking.MinEmbeddedLength } && secrets.TrueForAll(s => s.Secret != secret))
            {
                secrets.Add((secret, Seal(secret)));
            }
        }

        // Longest first: a key that holds the other is replaced whole.
        secrets.Sort((a, b) => b.Secret.Length.CompareTo(a.Secret.Length));
        string? Embedded(string? value)
        {
            foreach (var (secret, @sealed) in secrets)
            {
                if (value is not null && value.Length >= secret.Length && value.Contains(secret, StringComparison.Ordinal))
                {
                    value = value.Replace(secret, @sealed, StringComparison.Ordinal);
                }
            }

            return value;
        }

        string? Own(string? secret) => string.IsNullOrEmpty(secret) || secret == "-" ? secret : Seal(secret);
        var own = record with { ApiKey = Own(record.ApiKey), OauthAccessToken = Own(record.OauthAccessToken) };
        return secrets.Count == 0 ? own : Map(own, Embedded, sealing: true);
    }

    /// <summary>Every string in <paramref name="node"/> (a record as JSON), at any depth, opened in place.</summary>
    public void Open(JsonNode node) => MapStrings(node, Open);

    /// <summary>
    /// The record with every sealed secret in it opened. A record whose own secrets are not sealed has none elsewhere
    /// (<see cref="Seal(CallRecord)"/> seals them first), and is returned as it is.
    /// </summary>
    public CallRecord Open(CallRecord record)
    {
        if (record.ApiKey?.IndexOf(Start) is null or < 0 && record.OauthAccessToken?.IndexOf(Start) is null or < 0)
        {
            return record;
        }

        var (apiKey, token) = (Open(record.ApiKey), Open(record.OauthAccessToken));
        EnsureOpen(apiKey);
        EnsureOpen(token);
        return Map(record with { ApiKey = apiKey, OauthAccessToken = token }, Open, sealing: false);
    }

    /// <summary>Every other text of the record, its unknown fields' strings among them, through <paramref name="change"/>.</summary>
    private static CallRecord Map(CallRecord record, Func<string?, string?> change, bool sealing) => record with
    {
        RequestId = change(record.RequestId),
        ApiMethodName = change(record.ApiMethodName),
        ServiceId = change(record.ServiceId),
        ServiceName = change(record.ServiceName),
        EndpointName = change(record.EndpointName),
        ServiceDefinitionEndpointUuid = change(record.ServiceDefinitionEndpointUuid),
        PackageName = change(record.PackageName),
        PackageUuid = change(record.PackageUuid),
        PlanName = change(record.PlanName),
        PlanUuid = change(record.PlanUuid),
        OrgName = change(record.OrgName),
        OrgUuid = change(record.OrgUuid),
        SubOrgName = change(record.SubOrgName),
        SubOrgUuid = change(record.SubOrgUuid),
        HttpMethod = change(record.HttpMethod),
        HttpVersion = change(record.HttpVersion),
        ResponseString = change(record.ResponseString),
        TrafficManager = change(record.TrafficManager),
        TrafficManagerErrorCode = change(record.TrafficManagerErrorCode),
        SrcIp = change(record.SrcIp),
        UserAgent = change(record.UserAgent),
        Referrer = change(record.Referrer),
        RequestHostName = change(record.RequestHostName),
        Uri = change(record.Uri),
        Extra = record.Extra?.ToDictionary(e => e.Key, e => Map(e.Value, change, sealing)),
    };

    /// <summary>An unknown field's value with its strings (at any depth) changed; numbers and the like stay.</summary>
    private static JsonElement Map(JsonElement value, Func<string?, string?> change, bool sealing)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString();
                var changed = change(text);
                return changed == text ? value : JsonSerializer.SerializeToElement(changed);
            case JsonValueKind.Object or JsonValueKind.Array:
                // A sealed secret is written as an escaped control character, so a value without one has none to open. (A
                // secret to seal may be written with escapes of any character: its raw text tells nothing.)
                if (!sealing && !value.GetRawText().Contains("\\u0001", StringComparison.Ordinal))
                {
                    return value;
                }

                var node = JsonNode.Parse(value.GetRawText())!;
                return MapStrings(node, change) ? JsonSerializer.SerializeToElement(node) : value;
            default:
                return value;
        }
    }

    /// <summary>Every string value in <paramref name="node"/>, at any depth, through <paramref name="change"/>, in place; whether any changed.</summary>
    public static bool MapStrings(JsonNode node, Func<string?, string?> change)
    {
        var any = false;
        switch (node)
        {
            case JsonObject item:
                foreach (var (name, child) in item.ToList())
                {
                    if (Changed(child, change, ref any) is { } replacement)
                    {
                        item[name] = replacement;
                    }
                }

                break;
            case JsonArray list:
                for (var i = 0; i < list.Count; i++)
                {
                    if (Changed(list[i], change, ref any) is { } replacement)
                    {
                        list[i] = replacement;
                    }
                }

                break;
        }

        return any;
    }

    /// <summary>A string leaf's new text when <paramref name="change"/> changes it (else null); a container is changed in place.</summary>
    private static string? Changed(JsonNode? child, Func<string?, string?> change, ref bool any)
    {
        if (child is JsonValue leaf && leaf.TryGetValue<string>(out var text))
        {
            var changed = change(text);
            any |= changed != text;
            return changed != text ? changed : null;
        }

        any |= child is not null && MapStrings(child, change);
        return null;
    }

    /// <summary>One key: its id, its AES-256-GCM key and the HMAC key of the nonces, all derived from the configured text.</summary>
    private sealed class SealKey
    {
        private readonly ThreadLocal<HMACSHA256> _mac;
        private readonly ThreadLocal<AesGcm> _aes;

        public SealKey(string text)
        {
            var material = Encoding.UTF8.GetBytes(text);
            var encryption = HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 32, info: "calllogs-sealing-aes256gcm"u8.ToArray());
            var mac = HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 32, info: "calllogs-sealing-nonce"u8.ToArray());
            _mac = new ThreadLocal<HMACSHA256>(() => new HMACSHA256(mac));
            Id = Base64Url.EncodeToString(HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 6, info: "calllogs-sealing-id"u8.ToArray()));
            _aes = new ThreadLocal<AesGcm>(() => new AesGcm(encryption, TagLength));
        }

        public string Id { get; }

        public string Seal(string secret)
        {
            var plain = Encoding.UTF8.GetBytes(secret);
            var payload = new byte[NonceLength + plain.Length + TagLength];
            var nonce = payload.AsSpan(0, NonceLength);
            Span<byte> mac = stackalloc byte[32];
            _mac.Value!.TryComputeHash(plain, mac, out _);
            mac[..NonceLength].CopyTo(nonce);
            _aes.Value!.Encrypt(nonce, plain, payload.AsSpan(NonceLength, plain.Length), payload.AsSpan(NonceLength + plain.Length));
            return string.Concat([Start.ToString(), Id, Base64Url.EncodeToString(payload), End.ToString()]);
        }

        /// <summary>The secret, or null when <paramref name="text"/> is no sealed secret at all; one that does not open was altered.</summary>
        public string? Open(ReadOnlySpan<char> text)
        {
            var payload = new byte[Base64Url.GetMaxDecodedLength(text.Length)];
            if (Base64Url.DecodeFromChars(text, payload, out var read, out var length) != System.Buffers.OperationStatus.Done
                || read != text.Length || length < NonceLength + TagLength)
            {
                return null;
            }

            var plain = new byte[length - NonceLength - TagLength];
            try
            {
                _aes.Value!.Decrypt(payload.AsSpan(0, NonceLength), payload.AsSpan(NonceLength, plain.Length), payload.AsSpan(NonceLength + plain.Length, TagLength), plain);
            }
            catch (AuthenticationTagMismatchException)
            {
                throw new SealedSecretException($"A secret sealed with key '{Id}' was altered: it does not open.");
            }

            return Encoding.UTF8.GetString(plain);
        }
    }
}
