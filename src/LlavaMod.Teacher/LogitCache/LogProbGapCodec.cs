using System.Buffers.Binary;

namespace LlavaMod.Teacher.LogitCache;

/// <summary>
/// Encodes one token's k log-probs, sorted descending: the top-1 exactly (float32), the others as
/// gaps below it on a grid of step s, n_i = round((lp_1 − lp_i)/s). The n_i never decrease, so
/// their successive differences (mostly small) are written as LEB128 varints and compress well
/// under zstd. Decoding gives lp_1 − n_i·s, within s/2 of the input (no error accumulates along the
/// list because each n_i is rounded independently).
/// </summary>
public static class LogProbGapCodec
{
    /// <summary>Appends the gap codes of <paramref name="sortedLogProbs"/>[1..] to <paramref name="output"/>.</summary>
    public static void EncodeGaps(ReadOnlySpan<float> sortedLogProbs, double step, List<byte> output)
    {
        double top = sortedLogProbs[0];
        long previous = 0;
        for (int i = 1; i < sortedLogProbs.Length; i++)
        {
            long n = (long)Math.Round((top - sortedLogProbs[i]) / step, MidpointRounding.AwayFromZero);
            long delta = Math.Max(0, n - previous); // sorted input gives n ≥ previous; ties round alike
            n = previous + delta;
            WriteVarint(output, (ulong)delta);
            previous = n;
        }
    }

    /// <summary>Decodes <paramref name="destination"/>.Length log-probs (top-1 first) and returns the bytes consumed.</summary>
    public static int DecodeGaps(float top, ReadOnlySpan<byte> codes, double step, Span<float> destination)
    {
        destination[0] = top;
        long n = 0;
        int offset = 0;
        for (int i = 1; i < destination.Length; i++)
        {
            n += (long)ReadVarint(codes, ref offset);
            destination[i] = (float)(top - n * step);
        }
        return offset;
    }

    public static void WriteFloats(ReadOnlySpan<float> values, List<byte> output)
    {
        Span<byte> b = stackalloc byte[4];
        foreach (float v in values) { BinaryPrimitives.WriteSingleLittleEndian(b, v); output.AddRange(b); }
    }

    public static float ReadFloat(ReadOnlySpan<byte> bytes, int index) =>
        BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(index * 4, 4));

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
            if (offset >= bytes.Length) throw new InvalidDataException("log-prob gap codes end in the middle of a value");
            byte b = bytes[offset++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("log-prob gap code longer than 64 bits");
    }
}
