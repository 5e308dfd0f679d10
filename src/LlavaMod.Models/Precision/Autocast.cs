using LlavaMod.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Mixed precision for TorchSharp, which has no autocast. Inside <c>using (Autocast.Enter(ComputePrecision.Bf16))</c>
/// on the current thread, the models' matrix products (every Linear layer, the lm head and scaled dot-product
/// attention) run on bf16 inputs with bf16 copies of the fp32 master weights and hand bf16 back, as torch.autocast
/// does: activations stay bf16 from one matmul to the next inside a block (the SwiGLU product, q/k/v, an MoE
/// expert's MLP, CLIP's MLP, the projector's GELU). What stays fp32 (the residual-stream policy): the residual stream
/// itself (a block's bf16 output is added to it in fp32 and the sum stays fp32), embeddings, norms (computed in fp32),
/// rotary, the softmax statistics inside attention, the MoE router and its combine weights, the lm head's logits and
/// every loss. Gradients flow back through the casts to the fp32 weights, so optimizer state and checkpoints stay
/// fp32. Outside a scope (or in an fp32 scope) nothing changes, and a model whose weights are already bf16 is left
/// alone: there is one code path.
/// <para>
/// As torch.autocast's weight cache, the bf16 copy of each parameter is made once per scope and disposed with it;
/// a Linear whose product autograd records goes through <see cref="Bf16Linear"/> instead, which keeps no copy from the
/// forward to the backward. Weights must not change inside a scope: in training, keep the scope around one forward
/// pass (the backward may run after it ends); for inference, one scope around a whole generation casts every weight
/// once.
/// </para>
/// </summary>
public sealed class Autocast : IDisposable
{
    [ThreadStatic] static Autocast? _current;

    readonly Autocast? _outer;
    readonly Dictionary<WeightKey, Tensor> _casts = new();
    bool _disposed;

    Autocast(ComputePrecision precision)
    {
        Precision = precision;
        _outer = _current;
        _current = this;
    }

    /// <summary>Opens a scope on this thread; dispose it to return to the enclosing one (scopes nest).</summary>
    public static Autocast Enter(ComputePrecision precision) => new(precision);

    public ComputePrecision Precision { get; }

    /// <summary>bf16 weight copies this scope holds (each parameter at most twice: with and without autograd history).</summary>
    public int CachedWeights => _casts.Count;

    /// <summary>The precision in force on this thread (fp32 outside any scope).</summary>
    public static ComputePrecision Current => _current?.Precision ?? ComputePrecision.Fp32;

    /// <summary>The dtype attention and other matmuls use for activations of dtype <paramref name="activations"/>.</summary>
    public static ScalarType ComputeDtype(ScalarType activations) =>
        Current == ComputePrecision.Bf16 && activations == ScalarType.Float32 ? ScalarType.BFloat16 : activations;

    /// <summary><paramref name="layer"/>(<paramref name="input"/>) in the current precision.</summary>
    public static Tensor Linear(Linear layer, Tensor input) => Linear(input, layer.weight!, layer.bias);

    /// <summary>
    /// x·Wᵀ + b. Under bf16 with fp32 weights: computed from bf16 casts of all three and returned in bf16 (the caller
    /// casts where fp32 is its policy); otherwise in the weight's dtype by <see cref="OneDnnLinear"/> (fp32 products on
    /// the CPU through oneDNN, the rest exactly <c>functional.linear</c>).
    /// </summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        var scope = _current;
        if (scope is null || scope.Precision != ComputePrecision.Bf16 || weight.dtype != ScalarType.Float32)
            return OneDnnLinear.Apply(input, weight, bias);
        using var disposeScope = NewDisposeScope();
        var x = input.to(ScalarType.BFloat16);
        var product = torch.is_grad_enabled() && weight.requires_grad
            ? Bf16Linear.Apply(x, weight, bias) // training: the bf16 weight is cast again in the backward instead of kept
            : nn.functional.linear(x, scope.Cast(weight), bias is null ? null : scope.Cast(bias));
        return product.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Scaled dot-product attention over q [B, H, Tq, d], k and v [B, H, Tk, d] (already in
    /// <see cref="ComputeDtype"/>), with an additive mask; the result is in q's dtype. In bf16 this is libtorch's fused
    /// kernel (CPU flash attention in libtorch 2.10), which keeps the softmax statistics (row max and sum) and the
    /// output accumulation in fp32. One query in bf16 (a decoding step with a KV cache) runs in fp32 instead: libtorch
    /// 2.10's bf16 kernel costs 4.5× its fp32 one at one query over ~60 keys (497 vs 111 µs, docs/benchmarks.md,
    /// answer-probe), the whole bf16 slowdown of generation, while the casts of one query and its cache are cheap.
    /// <paramref name="causal"/> (no <paramref name="mask"/>) is the kernel's own causal masking, query i over keys
    /// j ≤ i from the top left: no mask tensor to add, and key blocks past the diagonal are skipped.
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? mask = null, bool causal = false)
    {
        if (causal && mask is not null) throw new ArgumentException("causal attention takes no additive mask");
        using var disposeScope = NewDisposeScope();
        if (q.dtype == ScalarType.BFloat16 && q.shape[2] == 1)
        {
            var single = nn.functional.scaled_dot_product_attention(q.to(ScalarType.Float32), k.to(ScalarType.Float32), v.to(ScalarType.Float32),
                attn_mask: mask?.to(ScalarType.Float32)); // (B, H, 1, d)
            return single.to(q.dtype).MoveToOuterDisposeScope();
        }
        var attended = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask?.to(q.dtype), is_casual: causal); // (B, H, Tq, d)
        return attended.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// bf16 copy of a weight, cached per scope for parameters (one copy with autograd history, one without). Keyed by
    /// the parameter's storage, not its wrapper: TorchSharp's Embedding returns a new wrapper on every weight access.
    /// </summary>
    Tensor Cast(Tensor weight)
    {
        if (weight is not Parameter) return weight.to(ScalarType.BFloat16);
        var key = new WeightKey(StorageAddress(weight), weight.storage_offset(), string.Join(",", weight.shape), torch.is_grad_enabled() && weight.requires_grad);
        if (!_casts.TryGetValue(key, out var cast))
        {
            cast = weight.to(ScalarType.BFloat16).DetachFromDisposeScope();
            _casts[key] = cast;
        }
        return cast;
    }

    static IntPtr StorageAddress(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => DataPointer(t.storage<float>()),
        _ => throw new ArgumentException($"only fp32 weights are cast to bf16, got {t.dtype}"),
    };

    static IntPtr DataPointer(Storage<float> storage)
    {
        using (storage) return storage.data_ptr();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!ReferenceEquals(_current, this))
            throw new InvalidOperationException("Autocast scopes must be disposed in reverse order of entry, on the thread that entered them");
        _current = _outer;
        foreach (var cast in _casts.Values) cast.Dispose();
        _casts.Clear();
    }

    readonly record struct WeightKey(IntPtr Data, long Offset, string Shape, bool Graph);
}
