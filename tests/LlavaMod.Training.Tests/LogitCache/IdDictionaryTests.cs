using LlavaMod.LogitCache;

namespace LlavaMod.Training.Tests.LogitCache;

public class IdDictionaryTests
{
    [Fact]
    public void Few_repeated_ids_get_a_dictionary_most_frequent_first_and_ranks_round_trip()
    {
        var random = new Random(1);
        int[] vocabulary = [151_000, 13, 4_096, 77_777, 290, 65_536];
        // id vocabulary[i] drawn with weight 1/(i+1)
        var ids = Enumerable.Range(0, 20_000).Select(_ => vocabulary[(int)Math.Floor(Math.Exp(random.NextDouble() * Math.Log(7))) - 1]).ToArray();
        int[] dictionary = IdDictionary.Choose(ids, planes: 3);
        var expected = ids.GroupBy(i => i).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => g.Key).ToArray();
        Assert.Equal(expected, dictionary);

        var values = ids.ToArray();
        IdDictionary.ToRanks(values, dictionary);
        Assert.All(values, v => Assert.InRange(v, 0, dictionary.Length - 1));
        Assert.Equal(ids.Count(i => i == expected[0]), values.Count(v => v == 0));
        IdDictionary.FromRanks(values, IdDictionary.Deserialize(IdDictionary.Serialize(dictionary, 3), 3));
        Assert.Equal(ids, values);
    }

    [Fact]
    public void Ids_spread_over_the_vocabulary_keep_no_dictionary()
    {
        var random = new Random(2);
        var ids = Enumerable.Range(0, 20_000).Select(_ => random.Next(151_936)).ToArray();
        Assert.Empty(IdDictionary.Choose(ids, planes: 3));
        var values = ids.ToArray();
        IdDictionary.ToRanks(values, []);
        Assert.Equal(ids, values); // no dictionary: raw ids
    }

    [Fact]
    public void A_rank_outside_the_dictionary_is_corrupt_data()
    {
        Assert.Throws<InvalidDataException>(() => IdDictionary.FromRanks(new[] { 0, 2 }, [5, 9]));
        Assert.Throws<InvalidDataException>(() => IdDictionary.Deserialize(new byte[5], 3));
    }
}
