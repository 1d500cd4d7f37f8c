using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace CallLogs.AppHost.Operations;

/// <summary>
/// Operator actions as dashboard commands on their service. Each calls the service's public API, like any client,
/// with a short-lived platform admin token of this run, so the audit trail records it. Restart comes with Aspire.
/// </summary>
public static class OperatorCommands
{
    /// <summary>Writes a profile's hours [from, to) again (export's re-export; progress under the service's operations).</summary>
    public static IResourceBuilder<ProjectResource> WithReExportCommand(this IResourceBuilder<ProjectResource> export, LocalTokens tokens) =>
        export.WithHttpCommand("/", "Re-export hours", "http", "re-export", new HttpCommandOptions
        {
            Description = "Write a profile's hourly objects again, with its current masking.",
            IconName = "ArrowSync",
            Method = HttpMethod.Post,
            Arguments =
            [
                Text("areaId", "Area id", "The area of the profile (a GUID)."),
                Text("profileId", "Export profile id", "The profile whose hours are written again (a GUID)."),
                Text("from", "From (UTC, on the hour)", "First hour, e.g. 2026-11-20T07:00:00Z."),
                Text("to", "To (UTC, on the hour, exclusive)", "End, e.g. 2026-11-20T10:00:00Z."),
            ],
            PrepareRequest = context =>
            {
                var arguments = context.Arguments;
                context.Request.RequestUri = new Uri(context.Request.RequestUri!,
                    $"/api/areas/{Escape(arguments.GetString("areaId"))}/export-profiles/{Escape(arguments.GetString("profileId"))}/re-exports");
                context.Request.Content = JsonContent.Create(new { from = arguments.GetString("from"), to = arguments.GetString("to") });
                Authorize(context.Request, tokens, "re-export");
                return Task.CompletedTask;
            },
            GetCommandResult = context => ResultAsync(context.Response, "Re-export started", context.CancellationToken),
        });

    /// <summary>Regenerates an area's telephony call logs of the last days from the stored CEL rows.</summary>
    public static IResourceBuilder<ProjectResource> WithCallLogRegenerationCommand(this IResourceBuilder<ProjectResource> telephony, LocalTokens tokens) =>
        telephony.WithHttpCommand("/", "Regenerate call logs", "http", "regenerate-call-logs", new HttpCommandOptions
        {
            Description = "Generate an area's telephony call logs again from its CEL rows of the last days.",
            IconName = "CallInbound",
            Method = HttpMethod.Post,
            Arguments =
            [
                Text("areaId", "Area id", "The area whose call logs are generated again (a GUID)."),
                new InteractionInput { Name = "days", Label = "Days", InputType = InputType.Number, Required = true, Value = "1", Description = "How many days back." },
            ],
            PrepareRequest = context =>
            {
                context.Request.RequestUri = new Uri(context.Request.RequestUri!, $"/api/areas/{Escape(context.Arguments.GetString("areaId"))}/telephony/call-logs/generate");
                context.Request.Content = JsonContent.Create(new { days = context.Arguments.GetInt32("days") });
                Authorize(context.Request, tokens, "regenerate-call-logs");
                return Task.CompletedTask;
            },
            GetCommandResult = context => ResultAsync(context.Response, "Call logs generated", context.CancellationToken),
        });

    /// <summary>Validates the delivered audit trail of an area (or of calls outside any area) against its signed digests.</summary>
    public static IResourceBuilder<ProjectResource> WithTrailValidationCommand(this IResourceBuilder<ProjectResource> audit, LocalTokens tokens) =>
        audit.WithHttpCommand("/", "Validate audit trail", "http", "validate-trail", new HttpCommandOptions
        {
            Description = "Check every delivered log file and digest of the period: VALID, CHANGED or MISSING.",
            IconName = "ShieldCheckmark",
            Method = HttpMethod.Get,
            Arguments =
            [
                new InteractionInput { Name = "area", Label = "Area", InputType = InputType.Text, Required = true, Value = "platform",
                    Description = "An area id, or 'platform' for calls outside any area." },
                new InteractionInput { Name = "hours", Label = "Hours back", InputType = InputType.Number, Required = true, Value = "24" },
            ],
            PrepareRequest = context =>
            {
                var end = DateTimeOffset.UtcNow;
                var start = end.AddHours(-context.Arguments.GetInt32("hours"));
                context.Request.RequestUri = new Uri(context.Request.RequestUri!,
                    $"/api/audit/validation?areaId={Escape(context.Arguments.GetString("area"))}&startTime={Escape(start.ToString("O", CultureInfo.InvariantCulture))}&endTime={Escape(end.ToString("O", CultureInfo.InvariantCulture))}");
                Authorize(context.Request, tokens, "validate-trail");
                return Task.CompletedTask;
            },
            GetCommandResult = async context =>
            {
                if (!context.Response.IsSuccessStatusCode)
                {
                    return await ResultAsync(context.Response, "", context.CancellationToken);
                }

                var body = await context.Response.Content.ReadAsStringAsync(context.CancellationToken);
                using var report = JsonDocument.Parse(body);
                // Files delivered within the current hour have no digest yet: nothing is proven, nothing is wrong either.
                return (report.RootElement.TryGetProperty("status", out var status) ? status.GetString() : null) switch
                {
                    "Valid" => CommandResults.Success("The audit trail is valid", body, CommandResultFormat.Json),
                    "NoDigestYet" => CommandResults.Success("No digest covers the delivered files yet (digests are written after each hour): nothing to prove yet", body, CommandResultFormat.Json),
                    "NothingDelivered" => CommandResults.Success("Nothing was delivered in the period", body, CommandResultFormat.Json),
                    _ => CommandResults.Failure("The audit trail is NOT valid", body, CommandResultFormat.Json),
                };
            },
        });

    private static InteractionInput Text(string name, string label, string description) =>
        new() { Name = name, Label = label, Description = description, InputType = InputType.Text, Required = true };

    private static string Escape(string? value) => Uri.EscapeDataString(value ?? "");

    private static void Authorize(HttpRequestMessage request, LocalTokens tokens, string command) =>
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.ForCommand(command));

    /// <summary>Success with the service's answer, or failure with its ProblemDetails (which names the field and the fix).</summary>
    private static async Task<ExecuteCommandResult> ResultAsync(HttpResponseMessage response, string success, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var format = response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) == true ? CommandResultFormat.Json : CommandResultFormat.Text;
        return response.IsSuccessStatusCode
            ? CommandResults.Success(success, body, format)
            : CommandResults.Failure($"The service answered {(int)response.StatusCode}", body, format);
    }
}
