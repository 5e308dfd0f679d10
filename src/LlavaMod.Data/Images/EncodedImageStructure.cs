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
