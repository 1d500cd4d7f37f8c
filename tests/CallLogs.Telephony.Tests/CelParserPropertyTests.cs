using System.Text.Json;
using System.Text.Json.Nodes;
using CallLogs.Telephony.Domain;
using CsCheck;

namespace CallLogs.Telephony.Tests;

/// <summary>Properties of the CEL row check, over random rows (CsCheck): it never throws, and what it accepts PostgreSQL can store.</summary>
public sealed class CelParserPropertyTests
{
    private static readonly DateTimeOffset Latest = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly string[] Columns =
    [
        "userdeftype", "cid_name", "cid_num", "cid_ani", "cid_rdnis", "cid_dnid", "exten", "context", "channame", "appname",
        "appdata", "accountcode", "peeraccount", "userfield", "peer", "extra", "eventtype", "uniqueid", "linkedid",
    ];

    /// <summary>Any character, NUL and lone surrogates included.</summary>
    private static readonly Gen<string> AnyText = Gen.String[Gen.Char, 0, 40];

    private static readonly Gen<string> StorableText = Gen.String[Gen.Char.AlphaNumeric, 1, 40];

    private static readonly Gen<JsonNode?> AnyValue = Gen.OneOf<JsonNode?>(
        AnyText.Select(s => (JsonNode?)JsonValue.Create(s)),
        Gen.Long.Select(l => (JsonNode?)JsonValue.Create(l)),
        Gen.Double.Select(d => double.IsFinite(d) ? (JsonNode?)JsonValue.Create(d) : null),
        Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
        Gen.Bool.Select(_ => (JsonNode?)null),
        Gen.Bool.Select(_ => (JsonNode?)new JsonArray()),
        Gen.Bool.Select(_ => (JsonNode?)new JsonObject()));

    private static readonly Gen<string> AnyTime = Gen.OneOf(
        AnyText,
        Gen.Long[DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks].Select(t => new DateTime(t, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm:ss.ffffff")));

    /// <summary>A row of random columns, each present or not, of any JSON kind.</summary>
    private static readonly Gen<JsonObject> AnyRow =
        Gen.Select(AnyValue.Array[Columns.Length], Gen.Bool.Array[Columns.Length], AnyValue, AnyTime, AnyValue, (values, present, id, time, ama) =>
        {
            var row = new JsonObject();
            for (var i = 0; i < Columns.Length; i++)
            {
                if (present[i])
                {
                    row[Columns[i]] = values[i]?.DeepClone();
                }
            }

            row["id"] = id?.DeepClone();
            row["eventtime"] = time;
            row["amaflags"] = ama?.DeepClone();
            return row;
        });

    /// <summary>One row alone: what a batch of only that row answers for it.</summary>
    private static (CelRow? Row, IReadOnlyList<string> Errors) Parse(JsonNode row)
    {
        var batch = CelParser.ParseBatch(System.Text.Encoding.UTF8.GetBytes(new JsonArray(row.DeepClone()).ToJsonString()), Latest, 1);
        return batch.Rows is [var accepted] ? (accepted, []) : (null, batch.Refused.Single().Errors);
    }

    [Fact]
    public void Any_row_is_either_accepted_or_refused_with_reasons_and_never_throws() =>
        AnyRow.Sample(node =>
        {
            var (row, errors) = Parse(node);
            Assert.True((row is null) == (errors.Count > 0));
            Assert.All(errors, e => Assert.Matches("^[a-z_]+: |^a CEL row", e));
        });

    [Fact]
    public void An_accepted_row_holds_only_storable_text_a_positive_id_and_a_time_in_range() =>
        AnyRow.Sample(node =>
        {
            if (Parse(node).Row is not { } row)
            {
                return;
            }

            Assert.True(row.Id > 0);
            Assert.InRange(row.EventTime, CelParser.Earliest, Latest);
            foreach (var text in new[] { row.EventType, row.CidName, row.CidNum, row.Exten, row.Context, row.ChanName, row.AppData, row.UniqueId, row.LinkedId, row.Extra })
            {
                Assert.True(StorableTextOf(text), text);
            }
        });

    private static bool StorableTextOf(string s) => CallLogs.ServiceDefaults.Errors.StorableText.IsStorable(s, allowControls: true);

    /// <summary>A well-formed row: storable values, a positive id, a time in range.</summary>
    private static readonly Gen<(long Id, DateTimeOffset Time, string[] Values)> ValidRow = Gen.Select(
        Gen.Long[1, long.MaxValue],
        Gen.Long[CelParser.Earliest.UtcTicks, Latest.UtcTicks].Select(t => new DateTimeOffset(t / 10 * 10, TimeSpan.Zero)),
        StorableText.Array[Columns.Length]);

    private static JsonObject ToJson((long Id, DateTimeOffset Time, string[] Values) r)
    {
        var row = new JsonObject { ["id"] = r.Id, ["eventtime"] = r.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff") };
        for (var i = 0; i < Columns.Length; i++)
        {
            row[Columns[i]] = r.Values[i];
        }

        return row;
    }

    [Fact]
    public void A_well_formed_row_is_accepted_with_its_values_unchanged() =>
        ValidRow.Sample(r =>
        {
            var (row, errors) = Parse(ToJson(r));
            Assert.Empty(errors);
            Assert.Equal(r.Id, row!.Id);
            Assert.Equal(r.Time, row.EventTime);
            Assert.Equal(r.Values[Array.IndexOf(Columns, "linkedid")], row.LinkedId);
            Assert.Equal(r.Values[Array.IndexOf(Columns, "extra")], row.Extra);
        });

    [Fact]
    public void A_NUL_in_any_text_column_refuses_the_row_naming_that_column() =>
        Gen.Select(ValidRow, Gen.Int[0, Columns.Length - 1], Gen.Int[0, 40]).Sample(t =>
        {
            var (r, column, at) = t;
            var json = ToJson(r);
            var value = r.Values[column];
            json[Columns[column]] = value.Insert(Math.Min(at, value.Length), "\0");
            var (row, errors) = Parse(json);
            Assert.Null(row);
            Assert.Contains(errors, e => e.StartsWith(Columns[column] + ":", StringComparison.Ordinal));
        });

    [Fact]
    public void A_time_outside_2000_to_now_plus_the_allowed_skew_refuses_the_row() =>
        Gen.Select(ValidRow, Gen.OneOf(
                Gen.Long[DateTime.MinValue.Ticks, CelParser.Earliest.UtcTicks - 10],
                Gen.Long[Latest.UtcTicks + 10, DateTime.MaxValue.Ticks - 10])).Sample(t =>
        {
            var json = ToJson(t.Item1);
            json["eventtime"] = new DateTime(t.Item2 / 10 * 10, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm:ss.ffffff");
            var (row, errors) = Parse(json);
            Assert.Null(row);
            Assert.Contains(errors, e => e.StartsWith("eventtime:", StringComparison.Ordinal));
        });

    [Fact]
    public void A_batch_gives_each_row_the_answer_it_gets_alone_in_order() =>
        AnyRow.Array[0, 20].Sample(nodes =>
        {
            var body = System.Text.Encoding.UTF8.GetBytes(new JsonArray(nodes.Select(n => (JsonNode?)n.DeepClone()).ToArray()).ToJsonString());
            var batch = CelParser.ParseBatch(body, Latest, 100);
            Assert.Null(batch.Problem);
            var alone = nodes.Select(n => Parse(n)).ToList();
            Assert.Equal(alone.Where(a => a.Row is not null).Select(a => a.Row), batch.Rows);
            Assert.Equal(alone.Select((a, i) => (a, i)).Where(x => x.a.Row is null).Select(x => (x.i, string.Join("|", x.a.Errors))),
                batch.Refused.Select(r => (r.Index, string.Join("|", r.Errors))));
        });

    [Theory]
    [InlineData("\"2020-01-01 00:00:00.000000\"", "\"2021-02-03T04:05:06Z\"", "2021-02-03T04:05:06Z")]
    [InlineData("\"2021-02-03T04:05:06Z\"", "\"2020-01-01 00:00:00.000000\"", "2020-01-01T00:00:00Z")]
    [InlineData("\"not a time\"", "\"2020-01-01 00:00:00.000001\"", "2020-01-01T00:00:00.000001Z")]
    [InlineData("\"2020-01-01 00:00:00.000000\"", "\"not a time\"", null)]
    [InlineData("\"2020-01-01 00:00:00.000000\"", "\"1999-12-31 23:59:59.999999\"", null)]
    [InlineData("\"2020-01-01 00:00:00.000000\"", "\"2020-01-01\\u002000:00:00.000000\"", "2020-01-01T00:00:00Z")]
    [InlineData("\"2020-01-01 00:00:00.000000\"", "7", null)]
    public void An_eventtime_given_twice_counts_with_its_last_value_whatever_form_each_has(string first, string last, string? expected)
    {
        var body = System.Text.Encoding.UTF8.GetBytes(
            $$"""[{"id":1,"eventtype":"CHAN_START","uniqueid":"u","linkedid":"l","eventtime":{{first}},"eventtime":{{last}}}]""");
        var batch = CelParser.ParseBatch(body, Latest, 1);
        if (expected is null)
        {
            Assert.Contains(batch.Refused.Single().Errors, e => e.StartsWith("eventtime:", StringComparison.Ordinal));
        }
        else
        {
            Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), batch.Rows.Single().EventTime);
        }
    }

    [Fact]
    public void Texts_repeated_across_a_batch_read_the_same_as_alone_whatever_their_length_or_escapes()
    {
        string[] texts = ["SIP/alice-0001", "", "caf\u00e9", "café", new string('x', 64), new string('x', 65), "x", "\u0041B"];
        var rows = texts.Select((t, i) => $$"""{"id":{{i + 1}},"eventtype":"CHAN_START","eventtime":"2020-01-01 00:00:00.000000","uniqueid":"u","linkedid":"l","channame":"{{t}}","cid_name":"{{texts[^(i + 1)]}}"}""");
        var batch = CelParser.ParseBatch(System.Text.Encoding.UTF8.GetBytes($"[{string.Join(",", rows.Concat(rows))}]"), Latest, 100);
        var expected = texts.Select(t => JsonSerializer.Deserialize<string>($"\"{t}\"")!).ToArray();
        Assert.Equal(expected.Concat(expected), batch.Rows.Select(r => r.ChanName));
        Assert.Equal(expected.Reverse().Concat(expected.Reverse()), batch.Rows.Select(r => r.CidName));
    }

    [Fact]
    public void A_batch_of_more_rows_than_allowed_or_no_array_is_a_problem_and_yields_no_row()
    {
        var rows = "[{},{},{}]"u8.ToArray();
        Assert.Null(CelParser.ParseBatch(rows, Latest, 3).Problem);
        var tooMany = CelParser.ParseBatch(rows, Latest, 2);
        Assert.Contains("At most 2", tooMany.Problem);
        Assert.Empty(tooMany.Rows);
        Assert.Empty(tooMany.Refused);
        Assert.NotNull(CelParser.ParseBatch("{\"id\":1}"u8, Latest, 2).Problem);
        Assert.ThrowsAny<JsonException>(() => CelParser.ParseBatch("[{}] ["u8, Latest, 2));
    }
}
