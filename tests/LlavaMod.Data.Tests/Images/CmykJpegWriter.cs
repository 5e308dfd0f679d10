namespace LlavaMod.Data.Tests.Images;

/// <summary>
/// Writes a minimal baseline CMYK JPEG (Adobe APP14, transform 0, inverted CMYK as Photoshop writes
/// it) made of flat 8×8 blocks, coded with DC coefficients only. ImageSharp 2.1's encoder cannot
/// write CMYK; flat blocks with a quantisation table of ones decode back to the exact values.
/// </summary>
static class CmykJpegWriter
{
    /// <summary>One 8×8 block per entry, left to right; each entry is the ink (0 = none, 255 = full) of C, M, Y, K.</summary>
    public static byte[] Write(params (byte C, byte M, byte Y, byte K)[] blocks) => Write(false, blocks);

    /// <summary>As <see cref="Write(ValueTuple{byte, byte, byte, byte}[])"/>; with <paramref name="restartEveryBlock"/> a DRI of one MCU and RSTn markers between blocks.</summary>
    public static byte[] Write(bool restartEveryBlock, params (byte C, byte M, byte Y, byte K)[] blocks)
    {
        var o = new List<byte> { 0xFF, 0xD8 };
        Segment(o, 0xEE, [.. "Adobe"u8.ToArray(), 0x00, 0x64, 0, 0, 0, 0, 0]);
        Segment(o, 0xDB, [0x00, .. Enumerable.Repeat((byte)1, 64)]);
        int width = 8 * blocks.Length;
        Segment(o, 0xC0, [8, 0, 8, (byte)(width >> 8), (byte)width, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]);
        // DC table 0: categories 0..11, all with 4-bit codes 0000..1011.
        Segment(o, 0xC4, [0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        // AC table 0: EOB = 00 (and an unused 0x01 = 01).
        Segment(o, 0xC4, [0x10, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01]);
        if (restartEveryBlock) Segment(o, 0xDD, [0, 1]);
        Segment(o, 0xDA, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]);
        var bits = new BitWriter(o);
        var previous = new int[4];
        for (int block = 0; block < blocks.Length; block++)
        {
            if (restartEveryBlock && block > 0)
            {
                bits.Flush();
                o.AddRange([0xFF, (byte)(0xD0 + (block - 1) % 8)]);
                Array.Clear(previous);                    // DC prediction restarts after RSTn
            }
            var b = blocks[block];
            byte[] stored = [(byte)(255 - b.C), (byte)(255 - b.M), (byte)(255 - b.Y), (byte)(255 - b.K)];
            for (int c = 0; c < 4; c++)
            {
                int dc = 8 * (stored[c] - 128);           // FDCT of a flat block: 8 × (value − 128)
                int diff = dc - previous[c];
                previous[c] = dc;
                int category = diff == 0 ? 0 : 32 - int.LeadingZeroCount(Math.Abs(diff));
                bits.Write(category, 4);
                if (category > 0) bits.Write(diff > 0 ? diff : diff - 1 + (1 << category), category);
                bits.Write(0b00, 2);                      // EOB
            }
        }
        bits.Flush();
        o.AddRange([0xFF, 0xD9]);
        return o.ToArray();
    }

    static void Segment(List<byte> o, byte marker, byte[] payload)
    {
        int length = payload.Length + 2;
        o.AddRange([0xFF, marker, (byte)(length >> 8), (byte)length]);
        o.AddRange(payload);
    }

    sealed class BitWriter(List<byte> output)
    {
        int buffer, count;

        public void Write(int value, int length)
        {
            for (int i = length - 1; i >= 0; i--)
            {
                buffer = (buffer << 1) | ((value >> i) & 1);
                if (++count == 8) Emit();
            }
        }

        public void Flush()
        {
            while (count != 0) Write(1, 1);               // pad with 1-bits
        }

        void Emit()
        {
            output.Add((byte)buffer);
            if (buffer == 0xFF) output.Add(0x00);         // byte stuffing
            buffer = 0;
            count = 0;
        }
    }
}
