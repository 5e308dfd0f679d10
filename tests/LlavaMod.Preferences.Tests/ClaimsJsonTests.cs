namespace LlavaMod.Preferences.Tests;

public class ClaimsJsonTests
{
    [Fact]
    public void Hallucinated_words_of_false_claims_are_marked_as_whole_words()
    {
        const string json = """
            [{"claim": "the bus is red", "supported": true, "hallucinated_words": ["red"]},
             {"claim": "the bus has wings", "supported": false, "hallucinated_words": ["wings", "Jet engine"]}]
            """;
        var claims = ClaimsJson.Parse(json, "test");
        var spans = ClaimsJson.Mark("A red bus with wings and a jet engine; wingspan unknown.", claims);
        Assert.Equal(
            new[]
            {
                new MarkedSpan("A red bus with ", false), new MarkedSpan("wings", true), new MarkedSpan(" and a ", false),
                new MarkedSpan("jet engine", true), new MarkedSpan("; wingspan unknown.", false),
            },
            spans);
        Assert.Equal(claims.Select(c => (c.Claim, c.Supported, string.Join("|", c.HallucinatedWords!))),
            ClaimsJson.Parse(ClaimsJson.Serialize(claims), "again").Select(c => (c.Claim, c.Supported, string.Join("|", c.HallucinatedWords!))));
    }
}
