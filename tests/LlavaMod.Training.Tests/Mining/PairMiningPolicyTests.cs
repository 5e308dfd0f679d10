using LlavaMod.Teacher.Mining;

namespace LlavaMod.Training.Tests.Mining;

public class PairMiningPolicyTests
{
    static ScoredResponse R(int i, double score, string? text = null, int tokens = 10) => new(i, text ?? $"response {i}", score, tokens);

    [Fact]
    public void Best_against_worst_with_a_gap()
    {
        var pairs = new PairMiningPolicy { MaxPairsPerPrompt = 1 }.Mine([R(0, -2), R(1, 0), R(2, -5), R(3, -1)]);
        Assert.Equal([new MinedPair(1, 2, 5)], pairs);
    }

    [Fact]
    public void All_equal_scores_one_response_and_empty_give_no_pairs()
    {
        var policy = new PairMiningPolicy();
        Assert.Empty(policy.Mine([R(0, -1), R(1, -1), R(2, -1)]));
        Assert.Empty(policy.Mine([R(0, 0)]));
        Assert.Empty(policy.Mine([]));
    }

    [Fact]
    public void Gap_below_the_minimum_is_not_a_pair()
    {
        Assert.Empty(new PairMiningPolicy { MinGap = 2 }.Mine([R(0, 0), R(1, -1)]));
    }

    [Fact]
    public void Identical_texts_are_never_paired_even_with_different_scores()
    {
        // Same text scored differently (e.g. a noisy judge) must not become a pair.
        Assert.Empty(new PairMiningPolicy().Mine([R(0, 0, "a red circle"), R(1, -3, "a red circle ")]));
    }

    [Fact]
    public void At_most_M_pairs_and_each_response_used_once_per_side()
    {
        var responses = Enumerable.Range(0, 10).Select(i => R(i, -i)).ToList();
        var pairs = new PairMiningPolicy { Mode = PairMiningPolicy.PairingMode.AllAboveGap, MaxPairsPerPrompt = 3 }.Mine(responses);
        Assert.Equal(3, pairs.Count);
        Assert.Equal(3, pairs.Select(p => p.Chosen).Distinct().Count());
        Assert.Equal(3, pairs.Select(p => p.Rejected).Distinct().Count());
        Assert.Equal(new MinedPair(0, 9, 9), pairs[0]);
    }

    [Fact]
    public void Ties_prefer_the_closest_lengths_then_the_lowest_index()
    {
        var responses = new[] { R(0, 0, tokens: 30), R(1, 0, tokens: 12), R(2, -2, tokens: 10) };
        var pairs = new PairMiningPolicy { MaxPairsPerPrompt = 1 }.Mine(responses);
        Assert.Equal([new MinedPair(1, 2, 2)], pairs);
        var unbalanced = new PairMiningPolicy { MaxPairsPerPrompt = 1, BalanceLengths = false }.Mine(responses);
        Assert.Equal([new MinedPair(0, 2, 2)], unbalanced);
    }
}

public class PairMiningPolicyBestWorstTests
{
    [Fact]
    public void Best_worst_pairs_only_the_extremes_even_when_more_pairs_are_allowed()
    {
        var responses = new[] { new ScoredResponse(0, "a", 0, 5), new ScoredResponse(1, "b", 0, 6), new ScoredResponse(2, "c", -1, 5), new ScoredResponse(3, "d", -4, 5) };
        var pairs = new PairMiningPolicy { MaxPairsPerPrompt = 5 }.Mine(responses);
        Assert.Equal([new MinedPair(0, 3, 4)], pairs); // 1 ties with 0 but 3 is already used as rejected
    }
}
