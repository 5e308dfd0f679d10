using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// Frees what TorchSharp 0.107's custom autograd functions (<c>torch.autograd.Function&lt;T&gt;</c>) would keep until
/// the whole graph is gone. PyTorch's engine calls each node's <c>release_variables</c> right after its backward, so
/// a custom function's saved tensors go as the backward passes it; TorchSharp's node keeps them (in its
/// <c>AutogradContext</c>) until the graph is destroyed, after the whole backward. It also keeps an <c>empty_like</c>
/// of every output from the forward on, to hand the backward zeros for an output that got no gradient. At hidden
/// 1,024 and 4 × 256 tokens both are 4–6 MB per call, held at the backward's memory peak: for a function called once a
/// layer (a recomputed norm, a checkpointed layer) that is as much as the function exists to save
/// (docs/benchmarks.md, "Custom functions' memory").
/// <para>
/// Each function here is called through <see cref="Apply{T}"/> (its <c>apply</c>, then the output copies dropped),
/// calls <see cref="Track"/> at the end of its forward and takes what it saved with <see cref="TakeSaved"/>. Such a
/// function must handle an undefined output gradient itself (<c>set_materialize_grads(false)</c>, set here), and its
/// backward can run only once (no <c>retain_graph</c> double backward). The private fields are TorchSharp 0.107's; a version without
/// them fails here loudly, and the model tests run this path.
/// </para>
/// </summary>
internal static class CustomFunctionMemory
{
    const BindingFlags Private = BindingFlags.Instance | BindingFlags.NonPublic;
    static readonly FieldInfo SavedVariables = Field(typeof(AutogradContext), "_savedVariables");
    static readonly FieldInfo ContextNode = Field(typeof(AutogradContext), "_node");

    static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, FieldInfo> OutputCaches = new(); // one node type per function

    [ThreadStatic] static AutogradContext? _lastForward;

    /// <summary>Remembers the context of the forward running on this thread, for <see cref="DropOutputCache"/>.</summary>
    public static void Track(AutogradContext ctx)
    {
        ctx.set_materialize_grads(false);
        _lastForward = ctx;
    }

    /// <summary><typeparamref name="T"/>'s <c>apply</c> of <paramref name="vars"/>, without the node's copies of the outputs.</summary>
    public static List<Tensor> Apply<T>(params object[] vars) where T : MultiTensorFunction<T>, new()
    {
        var outputs = MultiTensorFunction<T>.apply(vars);
        DropOutputCache();
        return outputs;
    }

    /// <summary>Disposes the output copies the node of the last tracked forward on this thread made after it returned.</summary>
    static void DropOutputCache()
    {
        var ctx = _lastForward;
        _lastForward = null;
        if (ctx is null) return; // autograd off: apply made no node
        var node = ContextNode.GetValue(ctx) ?? throw Changed("AutogradContext._node is null");
        var cache = OutputCaches.GetOrAdd(node.GetType(), type => Field(type, "_outputCache"));
        if (cache.GetValue(node) is List<Tensor> outputs)
            foreach (var output in outputs) output?.Dispose();
        cache.SetValue(node, null); // the node's Dispose and backward both accept a missing cache when grads are not materialised
    }

    /// <summary>
    /// The tensors the forward saved, unpacked, with the context's own references released: they live as long as the
    /// returned ones (dispose them, or unpack inside the backward's dispose scope).
    /// </summary>
    public static List<Tensor> TakeSaved(AutogradContext ctx)
    {
        var unpacked = ctx.get_saved_variables();
        if (SavedVariables.GetValue(ctx) is System.Collections.IList saved)
        {
            foreach (var variable in saved) ((IDisposable)variable).Dispose();
            saved.Clear();
        }
        return unpacked;
    }

    static FieldInfo Field(Type type, string name) =>
        type.GetField(name, Private) ?? throw Changed($"{type.Name}.{name} is missing");

    static InvalidOperationException Changed(string what) =>
        new($"TorchSharp's custom autograd internals changed ({what}); CustomFunctionMemory is written against TorchSharp 0.107");
}
