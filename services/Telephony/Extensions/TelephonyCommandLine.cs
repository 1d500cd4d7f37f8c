using System.Globalization;
using CallLogs.Telephony.Data;

namespace CallLogs.Telephony.Extensions;

/// <summary>A parsed command line: generate (the default, as wazo-call-logs) or delete, for one area or all of them.</summary>
public sealed record TelephonyCommand(string Verb, int? CelCount, int? Days, bool All, Guid? AreaId, string? From = null);

/// <summary>
/// <c>CallLogs.Telephony telephony [generate] [-c CEL_COUNT | -d DAYS] [--area AREA_ID]</c> and
/// <c>CallLogs.Telephony telephony delete (-d DAYS | --all) [--area AREA_ID]</c>: the commands of wazo-call-logs. Without
/// <c>--area</c> a command applies to every area. A value that is not a number in range is an error, never a default.
/// </summary>
public static class TelephonyCommandLine
{
    public const int UsageError = 2;
    /// <summary>EX_TEMPFAIL: another run of the area holds its lock; try again later.</summary>
    public const int Busy = 75;

    public const string Usage = """
        usage: CallLogs.Telephony telephony [generate] [-c CEL_COUNT | -d DAYS] [--area AREA_ID]
               CallLogs.Telephony telephony delete (-d DAYS | --all) [--area AREA_ID]
               CallLogs.Telephony telephony import-ingest [--from INGEST_DB_CONNECTION_STRING]
          generate            make call logs from unprocessed CEL rows (the default command)
          delete              delete call logs; their CEL rows become unprocessed, so generate makes them again
          -c, --cel-count N   the N newest unprocessed CEL rows (1 to 10000000, default 20000)
          -d, --days D        the last D days (1 to 36500)
          --all               delete every call log
          import-ingest       the upgrade: move the telephony tables of ingest's database (ConnectionStrings:ingestdb,
                              or --from) into this one, then drop them there
          -a, --area ID       one area (default: every area)
        """;

    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] == "telephony";

    /// <summary>A command line run listens on no public port and runs no scheduled job.</summary>
    public static void Prepare(WebApplicationBuilder builder, string[] args)
    {
        if (IsCommand(args))
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration["Telephony:RunScheduledJobs"] = "false";
        }
    }

    /// <summary>The command, or what is wrong with the arguments (after the leading <c>telephony</c>).</summary>
    public static (TelephonyCommand? Command, string? Error) Parse(IReadOnlyList<string> args)
    {
        var i = 0;
        var verb = "generate";
        if (i < args.Count && args[i] is "generate" or "delete" or "import-ingest")
        {
            verb = args[i++];
        }

        int? count = null, days = null;
        var all = false;
        Guid? area = null;
        string? from = null;
        while (i < args.Count)
        {
            var option = args[i++];
            string? Value() => i < args.Count ? args[i++] : null;
            switch (option)
            {
                case "-c" or "--cel-count" when count is null:
                    if (!TryNumber(Value(), TelephonyOptions.MaxCelCount, out var c))
                    {
                        return (null, $"{option}: a whole number of CEL rows from 1 to {TelephonyOptions.MaxCelCount}");
                    }

                    count = c;
                    break;
                case "-d" or "--days" when days is null:
                    if (!TryNumber(Value(), TelephonyOptions.MaxDays, out var d))
                    {
                        return (null, $"{option}: a whole number of days from 1 to {TelephonyOptions.MaxDays}");
                    }

                    days = d;
                    break;
                case "--all" when !all:
                    all = true;
                    break;
                case "-a" or "--area" when area is null:
                    if (!Guid.TryParse(Value(), out var a))
                    {
                        return (null, $"{option}: an area id (a uuid)");
                    }

                    area = a;
                    break;
                case "--from" when from is null:
                    from = Value();
                    if (string.IsNullOrWhiteSpace(from))
                    {
                        return (null, "--from: the connection string of ingest's database");
                    }

                    break;
                default:
                    return (null, $"unexpected argument '{option}' (each option at most once)");
            }
        }

        return verb switch
        {
            "import-ingest" when count is not null || days is not null || all || area is not null => (null, "import-ingest takes only --from"),
            "import-ingest" => (new TelephonyCommand(verb, null, null, false, null, from), null),
            _ when from is not null => (null, "--from is an option of import-ingest"),
            "generate" when count is not null && days is not null => (null, "generate takes -c or -d, not both"),
            "generate" when all => (null, "--all is an option of delete"),
            "delete" when count is not null => (null, "-c is an option of generate"),
            "delete" when (days is null) == !all => (null, "delete needs -d DAYS or --all (one of them)"),
            _ => (new TelephonyCommand(verb, count, days, all, area), null),
        };
    }

    private static bool TryNumber(string? text, int max, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= 1 && value <= max;

    public static async Task<int> RunAsync(WebApplication app, string[] args)
    {
        var (command, error) = Parse(args[1..]);
        if (command is null)
        {
            await Console.Error.WriteLineAsync($"error: {error}\n{Usage}");
            return UsageError;
        }

        await app.StartAsync();
        try
        {
            if (command.Verb == "import-ingest")
            {
                return await ImportAsync(app, command.From);
            }

            await using var scope = app.Services.CreateAsyncScope();
            var runs = scope.ServiceProvider.GetRequiredService<TelephonyRuns>();
            var startedBy = $"command line ({Environment.UserName})";
            var areas = command.AreaId is { } one ? [one] : await runs.AreasAsync(CancellationToken.None);
            var exit = 0;
            foreach (var area in areas)
            {
                string? outcome;
                if (command.Verb == "generate")
                {
                    var selection = command.Days is { } days ? new GenerationSelection(null, days) : new GenerationSelection(command.CelCount ?? TelephonyOptions.DefaultCelCount, null);
                    var run = await runs.GenerateAsync(area, selection, startedBy, CancellationToken.None, Print);
                    outcome = run is { } r ? TelephonyOperations.Describe(r.Result) : null;
                }
                else
                {
                    var run = await runs.DeleteAsync(area, command.All ? null : command.Days, startedBy, CancellationToken.None, Print);
                    outcome = run is { } r ? $"Deleted {r.Deleted} call logs" : null;
                }

                await Console.Error.WriteLineAsync();
                if (outcome is null)
                {
                    await Console.Error.WriteLineAsync($"area {area}: another generation or deletion of this area is running; try again when it is done");
                    exit = Busy;
                }
                else
                {
                    Console.WriteLine($"area {area}: {outcome}");
                }
            }

            return exit;
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static async Task<int> ImportAsync(WebApplication app, string? from)
    {
        from ??= app.Configuration.GetConnectionString("ingestdb");
        if (string.IsNullOrWhiteSpace(from))
        {
            await Console.Error.WriteLineAsync("import-ingest needs ingest's database: --from CONNECTION_STRING or ConnectionStrings__ingestdb");
            return UsageError;
        }

        var moved = await IngestImport.MoveAsync(from, app.Services.GetRequiredService<Npgsql.NpgsqlDataSource>(), CancellationToken.None);
        Console.WriteLine(moved is null ? "ingest's database has no telephony tables: nothing to move" : $"moved from ingest's database and dropped there: {moved}");
        return 0;
    }

    private static Task Print(long done, long total)
    {
        Console.Error.Write($"\r{done}/{total}");
        return Task.CompletedTask;
    }
}
