using System.Buffers.Binary;
using System.Text;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// Marks one required symbol version of an ELF64 shared library as weak, so the dynamic loader
/// accepts the library on a host whose libraries lack that version.
///
/// Why: TorchSharp 0.107's libLibTorchSharp.so declares a need for GLIBCXX_3.4.32 (GCC 13's
/// libstdc++), which Debian 12 and Ubuntu 22.04 (GCC 12) lack, so loading fails. The only symbol
/// behind that version is <c>std::ios_base_library_init</c>, emitted as a bare reference that is
/// never called. Setting VER_FLG_WEAK (0x2) on the version's Vernaux entry in the
/// <c>.gnu.version_r</c> section turns the hard requirement into a weak one (ELF gABI, symbol
/// versioning): the loader then only warns in debug mode.
/// </summary>
public static class ElfVersionPatch
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlagWeak = 0x2;

    /// <summary>
    /// Sets the weak flag on every Vernaux entry named <paramref name="version"/>. Returns the
    /// number of entries changed (0 if none needed it). Throws on a file that is not ELF64 LE.
    /// </summary>
    public static int MarkVersionWeak(byte[] elf, string version)
    {
        var span = elf.AsSpan();
        if (elf.Length < 64 || span[0] != 0x7f || span[1] != (byte)'E' || span[2] != (byte)'L' || span[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (span[4] != 2 || span[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported");

        ulong sectionHeaderOffset = BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
        ushort sectionHeaderSize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        ushort sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);

        int changed = 0;
        for (int i = 0; i < sectionCount; i++)
        {
            var header = span.Slice(checked((int)sectionHeaderOffset + i * sectionHeaderSize), sectionHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != ShtGnuVerneed) continue;

            int verneedOffset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(header[0x18..]));
            uint linkedStringSection = BinaryPrimitives.ReadUInt32LittleEndian(header[0x28..]);
            var stringHeader = span.Slice(checked((int)sectionHeaderOffset + (int)linkedStringSection * sectionHeaderSize), sectionHeaderSize);
            int stringsOffset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(stringHeader[0x18..]));

            int need = verneedOffset;
            while (true)
            {
                ushort auxCount = BinaryPrimitives.ReadUInt16LittleEndian(span[(need + 2)..]);
                uint auxOffset = BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 8)..]);
                uint nextNeed = BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 12)..]);
                int aux = need + (int)auxOffset;
                for (int a = 0; a < auxCount; a++)
                {
                    uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 8)..]);
                    if (ReadCString(span, stringsOffset + (int)nameOffset) == version)
                    {
                        var flags = span.Slice(aux + 4, 2);
                        ushort value = BinaryPrimitives.ReadUInt16LittleEndian(flags);
                        if ((value & VerFlagWeak) == 0)
                        {
                            BinaryPrimitives.WriteUInt16LittleEndian(flags, (ushort)(value | VerFlagWeak));
                            changed++;
                        }
                    }
                    uint nextAux = BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 12)..]);
                    if (nextAux == 0) break;
                    aux += (int)nextAux;
                }
                if (nextNeed == 0) break;
                need += (int)nextNeed;
            }
        }
        return changed;
    }

    /// <summary>True when the file's bytes mention <paramref name="version"/> (a version string in .dynstr).</summary>
    public static bool Mentions(byte[] elf, string version) =>
        elf.AsSpan().IndexOf(Encoding.ASCII.GetBytes(version + "\0")) >= 0;

    static string ReadCString(ReadOnlySpan<byte> span, int offset)
    {
        int end = span[offset..].IndexOf((byte)0);
        return Encoding.ASCII.GetString(span.Slice(offset, end));
    }
}
