using System.Buffers.Binary;

namespace LlavaMod.Preferences;

/// <summary>Token id arrays are stored in SQLite as BLOBs of little-endian int32 values, 4 bytes per
/// token, no header (so a BLOB of n bytes holds n/4 ids; Python reads it with
/// <c>numpy.frombuffer(blob, "&lt;i4")</c>).</summary>
public static class TokenIdBlob
{
    public static byte[] Encode(ReadOnlySpan<int> ids)
    {
        var bytes = new byte[ids.Length * 4];
        for (int i = 0; i < ids.Length; i++)
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), ids[i]);
        return bytes;
    }

    public static int[] Decode(ReadOnlySpan<byte> blob)
    {
        if (blob.Length % 4 != 0)
            throw new Core.LlavaModException($"token id blob of {blob.Length} bytes is not a multiple of 4 (little-endian int32 expected)");
        var ids = new int[blob.Length / 4];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = BinaryPrimitives.ReadInt32LittleEndian(blob.Slice(i * 4));
        return ids;
    }

    public static byte[]? EncodeOrNull(int[]? ids) => ids is null ? null : Encode(ids);
    public static int[]? DecodeOrNull(byte[]? blob) => blob is null ? null : Decode(blob);
}
