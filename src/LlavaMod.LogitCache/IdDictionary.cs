namespace LlavaMod.LogitCache;

/// <summary>
/// A row group's id dictionary: its distinct ids, most frequent first, so that the stored value of
/// an id is its rank. A teacher's top-k keeps returning the same few thousand tokens (the demo
/// teacher's 54 k tokens use 70 ids), and ranks of a skewed distribution have mostly-zero high bytes
/// that zstd codes in a few bits, where raw ids spend a byte plane on their low byte whatever the
/// skew. When the ids are spread out (a dictionary would cost more than it saves), the group has no
/// dictionary and stores raw ids. The choice compares order-0 entropy estimates of both layouts.
/// </summary>
public static class IdDictionary
{
    /// <summary>The dictionary for these ids (most frequent first, ties by id), or an empty array when raw ids are estimated smaller.</summary>
    public static int[] Choose(ReadOnlySpan<int> ids, int planes)
    {
        if (ids.Length == 0) return [];
        var counts = new Dictionary<int, int>();
        foreach (int id in ids) counts[id] = counts.GetValueOrDefault(id) + 1;
        double n = ids.Length;
        // Raw ids: each byte plane coded on its own (what zstd does with one column per plane).
        double rawBits = 0;
        for (int b = 0; b < planes; b++)
        {
            var histogram = new double[256];
            foreach (var (id, count) in counts) histogram[(id >> (8 * b)) & 0xFF] += count;
            rawBits += n * Entropy(histogram, n);
        }
        // Ranks: at best the ids' own entropy, plus the dictionary stored as raw bytes.
        double rankBits = n * Entropy(counts.Values.Select(c => (double)c), n) + 8.0 * planes * counts.Count;
        if (rankBits >= 0.9 * rawBits) return [];
        return counts.OrderByDescending(e => e.Value).ThenBy(e => e.Key).Select(e => e.Key).ToArray();
    }

    /// <summary>Replaces each id by its rank in <paramref name="dictionary"/> (nothing when it is empty).</summary>
    public static void ToRanks(Span<int> ids, int[] dictionary)
    {
        if (dictionary.Length == 0) return;
        var rank = new Dictionary<int, int>(dictionary.Length);
        for (int r = 0; r < dictionary.Length; r++) rank[dictionary[r]] = r;
        for (int j = 0; j < ids.Length; j++) ids[j] = rank[ids[j]];
    }

    /// <summary>Replaces each rank by its id (nothing when the dictionary is empty).</summary>
    public static void FromRanks(Span<int> values, int[] dictionary)
    {
        if (dictionary.Length == 0) return;
        for (int j = 0; j < values.Length; j++)
            values[j] = (uint)values[j] < (uint)dictionary.Length ? dictionary[values[j]]
                : throw new InvalidDataException($"id rank {values[j]} outside the row group's dictionary of {dictionary.Length} ids");
    }

    /// <summary>The dictionary as one byte string: its ids as byte planes, one after the other.</summary>
    public static byte[] Serialize(int[] dictionary, int planes) =>
        IdBytePlanes.Split(dictionary, planes).SelectMany(p => p).ToArray();

    public static int[] Deserialize(byte[] bytes, int planes)
    {
        if (bytes.Length % planes != 0) throw new InvalidDataException($"id dictionary of {bytes.Length} bytes is not a whole number of {planes}-byte ids");
        int count = bytes.Length / planes;
        var dictionary = new int[count];
        IdBytePlanes.Join(Enumerable.Range(0, planes).Select(b => bytes.AsSpan(b * count, count).ToArray()).ToArray(), dictionary);
        return dictionary;
    }

    static double Entropy(IEnumerable<double> counts, double total)
    {
        double h = 0;
        foreach (double c in counts) if (c > 0) h -= c / total * Math.Log2(c / total);
        return h;
    }
}
