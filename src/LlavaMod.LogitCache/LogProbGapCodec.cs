using System.Buffers.Binary;

namespace LlavaMod.LogitCache;

/// <summary>
/// Encodes one token's k log-probs, sorted descending: the top-1 exactly (float32 LE, so the equal
/// weights log(1/k) of a Sparse Logit Sampling row stay exact), the others as gaps below it on a
/// grid of step s, n_i = round((lp_1 − lp_i)/s). The n_i never decrease, so their successive
/// differences (mostly small) are written as LEB128 varints, which zstd compresses well. Decoding
/// gives lp_1 − n_i·s, within s/2 of the input (each n_i is rounded independently, so no error
/// accumulates along the list). The tail log-mass is a code on the same grid, round(−tail/s) + 1,
/// with 0 standing for −∞ (an empty tail): also within s/2.
/// </summary>
public static class LogProbGapCodec
{
    /// <summary>Appends the top-1 of <paramref name="sortedLogProbs"/> to <paramref name="top1"/> and the
    /// gap codes of the others to <paramref name="gapCodes"/>.</summary>
    public static void Encode(ReadOnlySpan<float> sortedLogProbs, double step, List<byte> top1, List<byte> gapCodes)
    {
        float top = sortedLogProbs[0];
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, top);
        top1.AddRange(b);
        long previous = 0;
        for (int i = 1; i < sortedLogProbs.Length; i++)
        {
            long n = Math.Max(previous, (long)Math.Round((top - sortedLogProbs[i]) / step, MidpointRounding.AwayFromZero)); // ties round alike
            WriteVarint(gapCodes, (ulong)(n - previous));
            previous = n;
        }
    }

    /// <summary>Decodes the log-probs of token <paramref name="token"/> (destination.Length of them, top-1 first)
    /// from the gap codes at <paramref name="gapOffset"/>, advancing it.</summary>
    public static void Decode(ReadOnlySpan<byte> top1, int token, ReadOnlySpan<byte> gapCodes, ref int gapOffset, double step, Span<float> destination)
    {
        float top = BinaryPrimitives.ReadSingleLittleEndian(top1.Slice(token * 4, 4));
        destination[0] = top;
        long n = 0;
        for (int i = 1; i < destination.Length; i++)
        {
            n += (long)ReadVarint(gapCodes, ref gapOffset);
            destination[i] = (float)(top - n * step);
        }
    }

    /// <summary>Appends the code of a tail log-mass (≤ 0 or −∞).</summary>
    public static void EncodeTail(float tailLogMass, double step, List<byte> output) =>
        WriteVarint(output, float.IsNegativeInfinity(tailLogMass) ? 0 : (ulong)Code(tailLogMass, step) + 1);

    public static float DecodeTail(ReadOnlySpan<byte> codes, ref int offset, double step)
    {
        ulong code = ReadVarint(codes, ref offset);
        return code == 0 ? float.NegativeInfinity : Value((long)code - 1, step);
    }

    static long Code(float logProb, double step) => (long)Math.Round(-Math.Min(logProb, 0f) / step, MidpointRounding.AwayFromZero);

    static float Value(long code, double step) => (float)(-code * step);

    static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80) { output.Add((byte)(value | 0x80)); value >>= 7; }
        output.Add((byte)value);
    }

    static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int offset)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (offset >= bytes.Length) throw new InvalidDataException("log-prob codes end in the middle of a value");
            byte b = bytes[offset++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("log-prob code longer than 64 bits");
    }
}
