using CallLogs.Ingest.Domain.Telephony;

namespace CallLogs.Ingest.Tests.Telephony;

/// <summary>Every wazo-call-logd scenario, through the pure generator (the API tests run them again end to end).</summary>
public sealed class CallLogGeneratorScenarioTests
{
    public static IEnumerable<object[]> Scenarios() => WazoScenario.All();

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Each_scenario_generates_the_call_log_it_expects(string name)
    {
        var scenario = WazoScenario.Load(name);
        var rows = scenario.CelRows();
        if (scenario.CelCount() is { } count)
        {
            // the scenario ran `wazo-call-logs --cel-count N`: only the calls of the N newest unprocessed rows
            rows = CelSelection.LastUnprocessed(rows, scenario.AlreadyProcessedIds().ToHashSet(), count);
        }

        var logs = CallLogGenerator.Generate(rows, scenario.Directory());

        if (scenario.ExpectNoCallLog)
        {
            Assert.Empty(logs);
            return;
        }
        Assert.NotEmpty(logs);
        var byDate = logs.OrderBy(l => l.Date).ToList();
        var unnamed = 0;
        foreach (var (linkedId, properties) in scenario.Expected())
        {
            var log = linkedId is null
                ? byDate[unnamed++]
                : Assert.Single(logs, l => l.ConversationId == linkedId);
            var errors = ScenarioExpectations.Mismatches(properties, ScenarioExpectations.Project(log));
            Assert.True(errors.Count == 0, $"{name}:\n  " + string.Join("\n  ", errors));
        }
    }
}
