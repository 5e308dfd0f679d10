namespace LlavaMod.LogitCache;

/// <summary>
/// Stores ids byte-plane by byte-plane (Parquet's BYTE_STREAM_SPLIT idea): plane b holds byte b
/// (least significant first) of every id, so a vocabulary of 151,936 ids takes 3 planes. Each plane
/// is its own Parquet column, so zstd entropy-codes each byte position with its own statistics: the
/// high planes of ids that cluster (frequent tokens have small BPE ids) shrink to a few bits, where
/// bit-packed ids stay at ⌈log2 V⌉ bits whatever their distribution.
/// </summary>
public static class IdBytePlanes
{
    /// <summary>Bytes per id: the fewest that hold vocab_size − 1.</summary>
    public static int PlanesFor(int vocabSize)
    {
        if (vocabSize < 2) throw new ArgumentOutOfRangeException(nameof(vocabSize), "vocabulary must hold at least 2 ids");
        int bits = 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(vocabSize - 1));
        return (bits + 7) / 8;
    }

    /// <summary>Splits <paramref name="ids"/> (each in [0, 256^planes)) into <paramref name="planes"/> byte arrays of ids.Length bytes.</summary>
    public static byte[][] Split(ReadOnlySpan<int> ids, int planes)
    {
        var output = new byte[planes][];
        for (int b = 0; b < planes; b++) output[b] = new byte[ids.Length];
        long limit = 1L << (8 * planes);
        for (int j = 0; j < ids.Length; j++)
        {
            int id = ids[j];
            if (id < 0 || id >= limit) throw new ArgumentOutOfRangeException(nameof(ids), $"id {id} does not fit in {planes} bytes");
            for (int b = 0; b < planes; b++) output[b][j] = (byte)(id >> (8 * b));
        }
        return output;
    }

    /// <summary>Joins planes written by <see cref="Split"/> into <paramref name="destination"/> (destination.Length ids).</summary>
    public static void Join(IReadOnlyList<byte[]> planes, Span<int> destination)
    {
        for (int b = 0; b < planes.Count; b++)
            if (planes[b].Length != destination.Length)
                throw new InvalidDataException($"id byte plane {b} holds {planes[b].Length} bytes, expected {destination.Length}");
        for (int j = 0; j < destination.Length; j++)
        {
            int id = 0;
            for (int b = 0; b < planes.Count; b++) id |= planes[b][j] << (8 * b);
            destination[j] = id;
        }
    }
}
