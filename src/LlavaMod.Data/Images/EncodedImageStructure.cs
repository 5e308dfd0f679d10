using System.Buffers.Binary;

namespace LlavaMod.Data.Images;

/// <summary>
/// Structure checks the pinned decoder does not make: ImageSharp 2.1 decodes a JPEG that stops
/// mid-scan (or a PNG that stops between IDAT chunks) without an error and fills the missing rows
/// with black, where Pillow raises "image file is truncated". These checks walk the container just far
/// enough to see whether the data reaches the format's end marker.
/// </summary>
public static class EncodedImageStructure
{
    /// <summary>Null when the data reaches its end marker, else why it does not.</summary>
    public static string? FindTruncation(ReadOnlySpan<byte> data, string format) => format switch
    {
        "jpeg" => JpegTruncation(data),
        "png" => PngTruncation(data),
        "gif" => data.Length > 0 && data[^1] == 0x3B ? null : "GIF data does not end with the trailer byte 0x3B",
        "webp" => WebpTruncation(data),
        _ => null,
    };

    /// <summary>Largest decompressed zTXt, compressed iTXt or iCCP chunk (Pillow's MAX_TEXT_CHUNK).</summary>
    public const int MaxPngMetadataChunkBytes = 1 << 20;
    /// <summary>Largest total of text and ICC metadata in one PNG, decompressed (Pillow's MAX_TEXT_MEMORY).</summary>
    public const long MaxPngMetadataBytes = 64L << 20;

    static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static bool IsPng(ReadOnlySpan<byte> data) => data.StartsWith(PngSignature);

    /// <summary>
    /// Null when the PNG's ancillary metadata stays within <see cref="MaxPngMetadataChunkBytes"/> per
    /// chunk and <see cref="MaxPngMetadataBytes"/> in all, else why not. ImageSharp 2.1 inflates
    /// zTXt/iTXt/iCCP chunks whole while reading the header, so a 97 KB file with a 100 MB zTXt
    /// chunk would cost about 1 GB; here each compressed chunk is inflated into a small buffer and
    /// counted, stopping at the limit, before the decoder sees the file.
    /// </summary>
    public static string? FindOversizedPngMetadata(byte[] data)
    {
        long total = 0;
        long i = 8;
        while (i + 8 <= data.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan((int)i, 4));
            string type = System.Text.Encoding.ASCII.GetString(data, (int)i + 4, 4);
            long start = i + 8, end = start + length;
            if (end > data.Length || type == "IEND") return null; // truncation is reported elsewhere
            var chunk = data.AsSpan((int)start, (int)length);
            long size = type switch
            {
                "tEXt" or "eXIf" => length,
                "zTXt" or "iCCP" => CompressedAfterKeyword(data, start, chunk, skipAfterKeyword: 1),
                "iTXt" => ITextSize(data, start, chunk),
                _ => 0,
            };
            if (size > MaxPngMetadataChunkBytes && type is not ("tEXt" or "eXIf"))
                return $"PNG {type} chunk at byte {i} inflates to more than {MaxPngMetadataChunkBytes:N0} bytes";
            total += size;
            if (total > MaxPngMetadataBytes)
                return $"PNG text and profile chunks hold more than {MaxPngMetadataBytes:N0} bytes";
            i = end + 4;
        }
        return null;
    }

    /// <summary>zTXt / iCCP: keyword, NUL, compression method, zlib data.</summary>
    static long CompressedAfterKeyword(byte[] data, long start, ReadOnlySpan<byte> chunk, int skipAfterKeyword)
    {
        int nul = chunk.IndexOf((byte)0);
        if (nul < 0 || nul + 1 + skipAfterKeyword > chunk.Length) return chunk.Length;
        int offset = nul + 1 + skipAfterKeyword;
        return InflatedSize(data, start + offset, chunk.Length - offset);
    }

    /// <summary>iTXt: keyword, NUL, compression flag, method, language tag, NUL, translated keyword, NUL, text (zlib when flagged).</summary>
    static long ITextSize(byte[] data, long start, ReadOnlySpan<byte> chunk)
    {
        int nul = chunk.IndexOf((byte)0);
        if (nul < 0 || nul + 3 > chunk.Length) return chunk.Length;
        bool compressed = chunk[nul + 1] == 1;
        int rest = nul + 3;
        for (int field = 0; field < 2; field++)
        {
            int next = chunk[rest..].IndexOf((byte)0);
            if (next < 0) return chunk.Length;
            rest += next + 1;
        }
        return compressed ? InflatedSize(data, start + rest, chunk.Length - rest) : chunk.Length;
    }

    /// <summary>Bytes the zlib stream inflates to, counted up to one byte past the per-chunk limit (damaged streams count what inflated).</summary>
    static long InflatedSize(byte[] data, long offset, int length)
    {
        using var zlib = new System.IO.Compression.ZLibStream(new MemoryStream(data, (int)offset, length, writable: false), System.IO.Compression.CompressionMode.Decompress);
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        long total = 0;
        try
        {
            int n;
            while (total <= MaxPngMetadataChunkBytes && (n = zlib.Read(buffer, 0, buffer.Length)) > 0) total += n;
        }
        catch (InvalidDataException) { }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
        return total;
    }

    /// <summary>True for a WebP whose VP8X header sets the animation flag.</summary>
    public static bool IsAnimatedWebp(ReadOnlySpan<byte> data) =>
        data.Length >= 21 && data[12..16].SequenceEqual("VP8X"u8) && (data[20] & 0x02) != 0;

    /// <summary>Walks JPEG marker segments and entropy-coded scans until the EOI marker.</summary>
    static string? JpegTruncation(ReadOnlySpan<byte> b)
    {
        if (b.Length < 4 || b[0] != 0xFF || b[1] != 0xD8) return "JPEG data does not start with the SOI marker";
        int i = 2;
        while (i + 1 < b.Length)
        {
            if (b[i] != 0xFF) return $"JPEG marker expected at byte {i}";
            byte marker = b[i + 1];
            if (marker == 0xFF) { i++; continue; }                      // fill byte
            if (marker == 0xD9) return null;                            // EOI
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) { i += 2; continue; } // no length field
            if (i + 3 >= b.Length) break;
            int length = (b[i + 2] << 8) | b[i + 3];
            if (length < 2) return $"JPEG segment at byte {i} has an invalid length {length}";
            i += 2 + length;
            if (marker != 0xDA) continue;
            // Scan data: runs until a 0xFF that is neither byte stuffing (FF 00) nor a restart marker.
            while (i + 1 < b.Length)
            {
                int next = b[i..].IndexOf((byte)0xFF);
                if (next < 0) { i = b.Length; break; }
                i += next;
                if (i + 1 >= b.Length || (b[i + 1] != 0x00 && b[i + 1] is not (>= 0xD0 and <= 0xD7))) break;
                i++;
            }
        }
        return "JPEG data ends before the end-of-image marker";
    }

    /// <summary>Walks PNG chunks (length, type, data, CRC) until IEND.</summary>
    static string? PngTruncation(ReadOnlySpan<byte> b)
    {
        long i = 8;
        while (i + 8 <= b.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(b.Slice((int)i, 4));
            var type = b.Slice((int)i + 4, 4);
            long end = i + 12 + length;
            if (end > b.Length) return $"PNG chunk '{System.Text.Encoding.ASCII.GetString(type)}' at byte {i} runs past the end of the data";
            if (type.SequenceEqual("IEND"u8)) return null;
            i = end;
        }
        return "PNG data ends before the IEND chunk";
    }

    /// <summary>The RIFF header states the file size; the data must hold all of it.</summary>
    static string? WebpTruncation(ReadOnlySpan<byte> b)
    {
        if (b.Length < 12) return "WebP data is shorter than its RIFF header";
        long declared = BinaryPrimitives.ReadUInt32LittleEndian(b.Slice(4, 4)) + 8L;
        return declared > b.Length ? $"WebP RIFF header declares {declared} bytes but the data has {b.Length}" : null;
    }
}
