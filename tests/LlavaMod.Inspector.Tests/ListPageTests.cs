using System.Net;
using System.Text.RegularExpressions;
using LlavaMod.Preferences;

namespace LlavaMod.Inspector.Tests;

[CollectionDefinition("inspector")]
public sealed class InspectorCollection : ICollectionFixture<InspectorFixture>;

/// <summary>The list page: rows, filters (checked against the seeded pairs), sort and keyset paging.</summary>
[Collection("inspector")]
public sealed partial class ListPageTests(InspectorFixture f)
{
    [GeneratedRegex("<td class=\"num\"><a href=\"/pairs/(\\d+)\">")]
    private static partial Regex RowLink();

    [GeneratedRegex("<a rel=\"next\" href=\"([^\"]+)\">")]
    private static partial Regex NextLink();

    async Task<(List<long> Ids, string Html)> Rows(string url)
    {
        var response = await f.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        string html = await response.Content.ReadAsStringAsync();
        return (RowLink().Matches(html).Select(m => long.Parse(m.Groups[1].Value)).ToList(), html);
    }

    List<long> Expected(Func<SeedPair, bool> keep) => f.Pairs.Where(keep).Select(p => p.Id).ToList();

    [Fact]
    public async Task ListsAllPairsWithTheirTexts()
    {
        var (ids, html) = await Rows("/");
        Assert.Equal(f.Pairs.Select(p => p.Id), ids);
        Assert.Contains("What is on the table?", html);
        Assert.Contains($"{f.Pairs.Count} shown of {f.Pairs.Count} matching pairs", html);
    }

    [Theory]
    [InlineData("/?min-gap=2")]
    [InlineData("/?max-gap=2")]
    [InlineData("/?min-severity=1")]
    [InlineData("/?min-length=8&max-length=20")]
    [InlineData("/?source=imported")]
    [InlineData("/?run=run-a&source=mined")]
    [InlineData("/?text=apples")]
    [InlineData("/?text=zebra+spots")]
    [InlineData("/?min-gap=&max-gap=&text=&source=&split=train")]
    public async Task FiltersNarrowTheList(string url)
    {
        var q = System.Web.HttpUtility.ParseQueryString(new Uri("http://x" + url).Query);
        double? D(string k) => string.IsNullOrEmpty(q[k]) ? null : double.Parse(q[k]!, System.Globalization.CultureInfo.InvariantCulture);
        var expected = Expected(p =>
            (D("min-gap") is not { } a || p.Gap >= a) && (D("max-gap") is not { } b || p.Gap <= b)
            && (D("min-severity") is not { } s || p.Severity >= s)
            && (D("min-length") is not { } l || p.Length >= l) && (D("max-length") is not { } m || p.Length <= m)
            && (string.IsNullOrEmpty(q["source"]) || p.Source.ToString().Equals(q["source"], StringComparison.OrdinalIgnoreCase))
            && (q["run"] is null || p.Run == q["run"])
            && (string.IsNullOrEmpty(q["text"]) || new[] { p.Prompt, p.Chosen, p.Rejected }.Any(t =>
                q["text"]!.Split(' ').All(w => t.Contains(w, StringComparison.OrdinalIgnoreCase)))));
        var (ids, _) = await Rows(url);
        Assert.NotEmpty(expected);
        Assert.True(expected.Count < f.Pairs.Count || url.Contains("split"), $"{url} should narrow the list");
        Assert.Equal(expected, ids);
    }

    [Fact]
    public async Task FilterFormKeepsTheEnteredValues()
    {
        var (_, html) = await Rows("/?min-gap=1.5&text=apples&sort=gap&desc=1");
        Assert.Contains("name=\"min-gap\" value=\"1.5\"", html);
        Assert.Contains("name=\"text\" value=\"apples\"", html);
        Assert.Contains("<option value=\"gap\" selected>", html);
        Assert.Contains("name=\"desc\" value=\"1\" checked", html);
    }

    [Fact]
    public async Task LinksTheStatisticsAndJsonOfTheSameFilter()
    {
        var (_, html) = await Rows("/?source=mined&min-gap=2&sort=gap");
        Assert.Contains("<a href=\"/stats?min-gap=2&amp;source=mined\">", html);
        Assert.Contains("<a href=\"/api/pairs?min-gap=2&amp;source=mined&amp;sort=gap\">", html);
    }

    [Fact]
    public async Task SortsByGapDescendingWithIdTieBreak()
    {
        var (ids, _) = await Rows("/?sort=gap&desc=1");
        var expected = f.Pairs.OrderByDescending(p => p.Gap).ThenByDescending(p => p.Id).Select(p => p.Id);
        Assert.Equal(expected, ids);
    }

    [Fact]
    public async Task NextPageLinksWalkAllPagesInOrder()
    {
        var expected = f.Pairs.OrderBy(p => p.Length).ThenBy(p => p.Id).Select(p => p.Id).ToList();
        var seen = new List<long>();
        string? url = "/?sort=length&limit=3";
        int pages = 0;
        while (url is not null)
        {
            var (ids, html) = await Rows(url);
            seen.AddRange(ids);
            pages++;
            var next = NextLink().Match(html);
            url = next.Success ? System.Net.WebUtility.HtmlDecode(next.Groups[1].Value) : null;
            if (url is not null) Assert.Contains("after=", url);
            Assert.True(pages <= expected.Count, "paging does not end");
        }
        Assert.Equal(expected, seen);
        Assert.Equal((expected.Count + 2) / 3 + (expected.Count % 3 == 0 ? 1 : 0), pages);
    }

    [Theory]
    [InlineData("/?min-gap=abc", "min-gap")]
    [InlineData("/?sort=colour", "sort")]
    [InlineData("/?after=99999", "99999")]
    [InlineData("/?source=stolen", "stolen")]
    public async Task BadQueryValuesAreA400NamingTheField(string url, string named)
    {
        var response = await f.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(named, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task StatsPageDrawsOneChartPerMeasureOverTheFilteredPairs()
    {
        var response = await f.Client.GetAsync("/stats?source=mined&bins=4");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string html = await response.Content.ReadAsStringAsync();
        int mined = f.Pairs.Count(p => p.Source == PairSource.Mined);
        Assert.Contains($"<b>{mined}</b> pairs", html);
        foreach (var name in new[] { "gap", "chosen_score", "rejected_score", "chosen_tokens", "rejected_tokens", "severity" })
            Assert.Contains($"id=\"hist-{name}\"", html);
        // The gap chart's bars add up to the mined pairs: 4 bins, counts in the bar titles.
        string gapChart = html[html.IndexOf("id=\"hist-gap\"", StringComparison.Ordinal)..];
        gapChart = gapChart[..gapChart.IndexOf("</svg>", StringComparison.Ordinal)];
        var counts = Regex.Matches(gapChart, @": (\d+)</title>").Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.Equal(4, counts.Count);
        Assert.Equal(mined, counts.Sum());
    }
}
