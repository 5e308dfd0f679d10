namespace LlavaMod.Teacher.LogitCache;

/// <summary>
/// Packs non-negative ids into the fewest bits that hold vocab_size − 1 (18 for Qwen's 151,936),
/// little-endian bit order: id j occupies bits [j·b, (j+1)·b) of the byte string, least significant first.
/// </summary>
public static class IdBitPacking
{
    public static int BitsFor(int vocabSize)
    {
        if (vocabSize < 2) throw new ArgumentOutOfRangeException(nameof(vocabSize), "vocabulary must hold at least 2 ids");
        return 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(vocabSize - 1));
    }

    public static int PackedLength(int count, int bits) => (int)(((long)count * bits + 7) / 8);

    /// <summary>Packs <paramref name="ids"/> (each in [0, 2^bits)) into a new byte array.</summary>
    public static byte[] Pack(ReadOnlySpan<int> ids, int bits)
    {
        var output = new byte[PackedLength(ids.Length, bits)];
        ulong buffer = 0;
        int filled = 0, o = 0;
        uint limit = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        foreach (int id in ids)
        {
            if (id < 0 || (uint)id > limit) throw new ArgumentOutOfRangeException(nameof(ids), $"id {id} does not fit in {bits} bits");
            buffer |= (ulong)(uint)id << filled;
            filled += bits;
            while (filled >= 8) { output[o++] = (byte)buffer; buffer >>= 8; filled -= 8; }
        }
        if (filled > 0) output[o] = (byte)buffer;
        return output;
    }

    /// <summary>Unpacks <paramref name="destination"/>.Length ids from <paramref name="packed"/>.</summary>
    public static void Unpack(ReadOnlySpan<byte> packed, int bits, Span<int> destination)
    {
        if (packed.Length != PackedLength(destination.Length, bits))
            throw new InvalidDataException($"packed ids hold {packed.Length} bytes, expected {PackedLength(destination.Length, bits)} for {destination.Length} ids of {bits} bits");
        ulong buffer = 0;
        int filled = 0, i = 0;
        ulong mask = (1UL << bits) - 1;
        for (int j = 0; j < destination.Length; j++)
        {
            while (filled < bits) { buffer |= (ulong)packed[i++] << filled; filled += 8; }
            destination[j] = (int)(buffer & mask);
            buffer >>= bits;
            filled -= bits;
        }
    }
}
