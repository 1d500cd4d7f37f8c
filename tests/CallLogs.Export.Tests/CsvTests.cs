using System.Text;
using CallLogs.Contracts;
using CsCheck;

namespace CallLogs.Export.Tests;

/// <summary>The shared CSV writer: RFC 4180, and OWASP's rule against formula injection unless raw values are asked for.</summary>
public sealed class CsvTests
{
    private static string Row(bool escape, params string?[] fields)
    {
        var text = new StringBuilder();
        Csv.AppendRow(text, fields, escape);
        return text.ToString();
    }

    [Theory]
    [InlineData("=1+2", "'=1+2")]
    [InlineData("+SUM(A1:A9)", "'+SUM(A1:A9)")]
    [InlineData("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0")]
    [InlineData("@SUM(1)", "'@SUM(1)")]
    [InlineData("\t=1", "'\t=1")]
    [InlineData("=HYPERLINK(\"http://evil.example\",\"click\")", "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\"")]
    [InlineData("\r=1", "\"'\r=1\"")]
    public void A_cell_a_spreadsheet_would_run_as_a_formula_gets_a_leading_apostrophe(string value, string written) =>
        Assert.Equal($"a,{written},b\r\n", Row(true, "a", value, "b"));

    [Theory]
    [InlineData("-")]
    [InlineData("-1")]
    [InlineData("+3")]
    [InlineData("-0.055")]
    [InlineData("-2.5e-3")]
    [InlineData("200_OK_API")]
    [InlineData("a=b")]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64)")]
    public void Numbers_the_gateways_none_and_ordinary_text_are_written_as_they_are(string value) =>
        Assert.Equal($"{value}\r\n", Row(true, value));

    [Fact]
    public void Raw_values_are_written_as_they_are_but_still_quoted_where_RFC_4180_needs_it() =>
        Assert.Equal("=1+2,@x,\"=a,b\",\r\n", Row(false, "=1+2", "@x", "=a,b", null));

    [Fact]
    public void Any_row_reads_back_as_its_fields_with_an_apostrophe_exactly_before_formula_like_cells() =>
        Gen.String["=+-@\t\r\n,\"' a1.e"].Array[1, 6].Sample(fields =>
        {
            var escaped = CsvText.Parse(Row(true, fields)).Single();
            Assert.Equal(fields.Select(f => Csv.IsFormulaLike(f) ? "'" + f : f), escaped);
            Assert.All(escaped, f => Assert.False(Csv.IsFormulaLike(f), f));
            Assert.Equal(fields, CsvText.Parse(Row(false, fields)).Single());
        });
}
