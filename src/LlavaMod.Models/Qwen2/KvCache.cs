using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Key/value cache for incremental decoding: per decoder layer, keys and values of shape
/// [B, kvHeads, T, headDim] (after rotary). The cache owns its tensors (detached from dispose
/// scopes); dispose it when generation ends.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] _keys;
    readonly Tensor?[] _values;

    public KvCache(int numLayers)
    {
        _keys = new Tensor?[numLayers];
        _values = new Tensor?[numLayers];
    }

    public int NumLayers => _keys.Length;

    /// <summary>Cached positions (length of layer 0's keys; 0 when empty).</summary>
    public long Length => _keys[0] is { } k ? k.shape[2] : 0;

    /// <summary>Cached length of one layer (differs from <see cref="Length"/> only during a forward pass).</summary>
    public long LayerLength(int layer) => _keys[layer] is { } k ? k.shape[2] : 0;

    public Tensor? Keys(int layer) => _keys[layer];
    public Tensor? Values(int layer) => _values[layer];

    /// <summary>Appends new keys/values [B, kvHeads, Tnew, d] to a layer; returns the full keys and values.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        Tensor k = _keys[layer] is { } oldK ? torch.cat([oldK, keys], dim: 2) : keys.alias();
        Tensor v = _values[layer] is { } oldV ? torch.cat([oldV, values], dim: 2) : values.alias();
        k.DetachFromDisposeScope();
        v.DetachFromDisposeScope();
        _keys[layer]?.Dispose();
        _values[layer]?.Dispose();
        _keys[layer] = k;
        _values[layer] = v;
        return (k, v);
    }

    /// <summary>Keeps only the batch rows in <paramref name="rows"/> (int64 indices), e.g. to fan out samples.</summary>
    public void SelectRows(Tensor rows)
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            if (_keys[i] is null) continue;
            var k = _keys[i]!.index_select(0, rows).DetachFromDisposeScope();
            var v = _values[i]!.index_select(0, rows).DetachFromDisposeScope();
            _keys[i]!.Dispose(); _values[i]!.Dispose();
            _keys[i] = k; _values[i] = v;
        }
    }

    public void Dispose()
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i]?.Dispose(); _values[i]?.Dispose();
            _keys[i] = null; _values[i] = null;
        }
    }
}
