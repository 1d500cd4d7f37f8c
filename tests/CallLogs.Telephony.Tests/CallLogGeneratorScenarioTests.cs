using CallLogs.Telephony.Domain;

namespace CallLogs.Telephony.Tests;

/// <summary>Every wazo-call-logd scenario, through the pure generator (the API tests run them again end to end).</summary>
public sealed class CallLogGeneratorScenarioTests
{
    /// <summary>Upstream runs the command twice in this test (test_call_logs_cli.py), the data file keeps one line.</summary>
    private static readonly Dictionary<string, int> RunsOf = new() { ["test_call_logs_cli__test_process_cel_after_those_already_processed"] = 2 };

    public static IEnumerable<object[]> Scenarios() => WazoScenario.All();

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Each_scenario_generates_the_call_log_it_expects(string name)
    {
        var scenario = WazoScenario.Load(name);
        var rows = scenario.CelRows();
        IReadOnlyList<GeneratedCall> logs;
        if (scenario.CelCount() is { } count)
        {
            // the scenario ran `wazo-call-logs --cel-count N` (RunsOf times): each run reads the calls of the
            // N newest unprocessed rows; a run's call logs mark their rows processed and replace older logs
            var processed = scenario.AlreadyProcessedIds().ToHashSet();
            var byConversation = new Dictionary<string, GeneratedCall>();
            for (var run = 0; run < RunsOf.GetValueOrDefault(name, 1); run++)
            {
                foreach (var log in CallLogGenerator.Generate(CelSelection.LastUnprocessed(rows, processed, count), scenario.Directory()))
                {
                    byConversation[log.CallLog.ConversationId] = log;
                    processed.UnionWith(log.CelIds);
                }
            }
            logs = byConversation.Values.ToList();
        }
        else
        {
            logs = CallLogGenerator.Generate(rows, scenario.Directory());
        }

        if (scenario.ExpectNoCallLog)
        {
            Assert.Empty(logs);
            return;
        }
        Assert.NotEmpty(logs);
        var byDate = logs.Select(l => l.CallLog).OrderBy(l => l.Start).ToList();
        var unnamed = 0;
        foreach (var (linkedId, properties) in scenario.Expected())
        {
            var log = linkedId is null
                ? byDate[unnamed++]
                : Assert.Single(logs, l => l.CallLog.ConversationId == linkedId).CallLog;
            var errors = ScenarioExpectations.Mismatches(properties, ScenarioExpectations.Project(log));
            Assert.True(errors.Count == 0, $"{name}:\n  " + string.Join("\n  ", errors));
        }
    }
}
