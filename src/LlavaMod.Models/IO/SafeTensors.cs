using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.IO;

/// <summary>
/// Reader and writer for the safetensors format: 8-byte little-endian header length, a JSON header
/// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the raw
/// little-endian tensor bytes (offsets relative to the end of the header). F32, F16, BF16, F64,
/// I64, I32 and BOOL are read; tensors are read one at a time, so files larger than 2 GiB work.
/// </summary>
public sealed class SafeTensorsFile
{
    public sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);

    readonly Dictionary<string, Entry> _entries;
    readonly long _dataStart;

    SafeTensorsFile(string path, Dictionary<string, Entry> entries, long dataStart, Dictionary<string, string> metadata)
    {
        Path = path;
        _entries = entries;
        _dataStart = dataStart;
        Metadata = metadata;
    }

    public string Path { get; }
    public IReadOnlyDictionary<string, Entry> Entries => _entries;
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "file not found");
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.Read(lengthBytes) != 8) throw LlavaModException.ForFile(path, "too short for a safetensors file (no 8-byte header length)");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > 100_000_000 || (long)headerLength > stream.Length - 8)
            throw LlavaModException.ForFile(path, $"safetensors header length {headerLength} does not fit the file ({stream.Length} bytes)");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        JsonObject root;
        try { root = JsonNode.Parse(header)!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        {
            throw LlavaModException.ForFile(path, $"safetensors header is not a JSON object: {e.Message}", e);
        }
        long dataStart = 8 + (long)headerLength;
        long dataLength = stream.Length - dataStart;
        var entries = new Dictionary<string, Entry>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, value) in root)
        {
            if (name == "__metadata__")
            {
                foreach (var (k, v) in value!.AsObject()) metadata[k] = v?.GetValue<string>() ?? "";
                continue;
            }
            var o = value!.AsObject();
            string dtype = o["dtype"]!.GetValue<string>();
            long[] shape = o["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
            var offsets = o["data_offsets"]!.AsArray();
            long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
            long expected = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(dtype, path, name);
            if (begin < 0 || end < begin || end > dataLength || end - begin != expected)
                throw LlavaModException.ForFile(path, $"tensor '{name}': data_offsets [{begin}, {end}] do not match dtype {dtype} shape [{string.Join(", ", shape)}] within {dataLength} data bytes");
            entries[name] = new Entry(name, dtype, shape, begin, end);
        }
        return new SafeTensorsFile(path, entries, dataStart, metadata);
    }

    /// <summary>Reads one tensor into a new CPU tensor of its stored dtype.</summary>
    public Tensor Read(string name)
    {
        if (!_entries.TryGetValue(name, out var entry)) throw LlavaModException.ForFile(Path, $"no tensor named '{name}'");
        var bytes = new byte[entry.End - entry.Begin];
        using (var stream = File.OpenRead(Path))
        {
            stream.Seek(_dataStart + entry.Begin, SeekOrigin.Begin);
            stream.ReadExactly(bytes);
        }
        var tensor = torch.empty(entry.Shape, dtype: ToScalarType(entry.DType, Path, name));
        if (bytes.Length > 0) tensor.bytes = bytes;
        return tensor;
    }

    /// <summary>Writes tensors (converted to contiguous CPU) in the given order, atomically.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var m = new JsonObject();
            foreach (var (k, v) in metadata) m[k] = v;
            header["__metadata__"] = m;
        }
        long offset = 0;
        foreach (var (name, t) in list)
        {
            long size = t.NumberOfElements * t.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = ToSafeTensorsDType(t.dtype, name),
                ["shape"] = new JsonArray(t.shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            offset += size;
        }
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padding = (8 - headerBytes.Length % 8) % 8; // align data to 8 bytes, padded with spaces as the reference writer does
        var fullHeader = new byte[headerBytes.Length + padding];
        headerBytes.CopyTo(fullHeader, 0);
        fullHeader.AsSpan(headerBytes.Length).Fill((byte)' ');
        AtomicFile.Write(path, stream =>
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)fullHeader.Length);
            stream.Write(lengthBytes);
            stream.Write(fullHeader);
            foreach (var (_, t) in list)
            {
                using var cpu = t.detach().cpu().contiguous();
                stream.Write(cpu.bytes);
            }
        });
    }

    static int ElementSize(string dtype, string path, string name) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "BOOL" or "U8" or "I8" => 1,
        _ => throw LlavaModException.ForFile(path, $"tensor '{name}': unsupported dtype {dtype}"),
    };

    static ScalarType ToScalarType(string dtype, string path, string name) => dtype switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw LlavaModException.ForFile(path, $"tensor '{name}': unsupported dtype {dtype}"),
    };

    static string ToSafeTensorsDType(ScalarType type, string name) => type switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new LlavaModException($"tensor '{name}': dtype {type} cannot be written to safetensors"),
    };
}
