using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LlavaMod.Models;

/// <summary>
/// Activation checkpointing of one <see cref="Qwen2DecoderLayer"/> as a custom autograd function (TorchSharp has no
/// torch.utils.checkpoint; this is the scheme of PyTorch's reentrant variant). The forward runs the layer without
/// autograd and saves only its inputs (hidden states, rotary cos/sin, mask); the backward runs the layer again with
/// autograd on a detached copy of the hidden states, under the precision the forward ran in and from the random state
/// it started from, and differentiates the recomputed outputs with the incoming gradients. The layer's trainable
/// parameters are inputs of the function, so the autograd engine accumulates their gradients (and a layer still gets
/// them when its input needs none, e.g. with a frozen embedding).
/// <para>
/// An MoE layer's auxiliary loss is a second output, handed back to the layer (<see cref="IAuxiliaryLossFeedForward"/>)
/// so that the loss the trainer adds carries the function's history and its gradient reaches the router in the
/// recomputation.
/// </para>
/// </summary>
public sealed class CheckpointedDecoderLayer : MultiTensorFunction<CheckpointedDecoderLayer>
{
    const string LayerKey = "layer", PrecisionKey = "precision", ParametersKey = "parameters", InputGradKey = "input_requires_grad",
        PackedShapeKey = "packed_shape", CausalKey = "causal";
    const int FirstParameter = 7; // apply's arguments: layer, hidden, cos, sin, mask, packed index, causal, parameters...

    public override string Name => nameof(CheckpointedDecoderLayer);

    /// <summary>
    /// <paramref name="layer"/>(hidden, cos, sin, mask, packed, causal), keeping only the inputs for backward. With an MoE
    /// feed-forward, the layer's last auxiliary loss afterwards carries this call's autograd history.
    /// </summary>
    public static Tensor Forward(Qwen2DecoderLayer layer, Tensor hidden, Tensor cos, Tensor sin, Tensor? mask, PackedTokens? packed, bool causal = false)
    {
        HandedOverGradients.Release();
        var parameters = layer.parameters().Where(p => p.requires_grad).ToArray<Tensor>();
        var arguments = new object[FirstParameter + parameters.Length];
        (arguments[0], arguments[1], arguments[2], arguments[3], arguments[4], arguments[5], arguments[6]) = (layer, hidden, cos, sin, mask!, packed!, causal);
        parameters.CopyTo(arguments, FirstParameter);
        var outputs = CustomFunctionMemory.Apply<CheckpointedDecoderLayer>(arguments);
        if (layer.AuxiliaryLossFeedForward is { } auxiliary)
            auxiliary.ReplaceLastAuxiliaryLoss(outputs[1].DetachFromDisposeScope());
        return outputs[0];
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var layer = (Qwen2DecoderLayer)vars[0];
        var (hidden, cos, sin, mask, packed) = ((Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], vars[4] as Tensor, vars[5] as PackedTokens);
        var auxiliary = layer.AuxiliaryLossFeedForward;
        var randomState = auxiliary?.RandomState();
        bool causal = (bool)vars[6];
        var output = layer.Forward(hidden, cos, sin, mask, packed, causal); // autograd is off here (apply's forward)
        // TorchSharp keeps a null entry as an empty slot and unpacks it as null
        ctx.save_for_backward([hidden, cos, sin, mask!, randomState!, packed?.Index!]);
        if (packed is not null) ctx.save_data(PackedShapeKey, (packed.RealCount, packed.Batch, packed.Length));
        ctx.save_data(LayerKey, layer);
        ctx.save_data(CausalKey, causal);
        ctx.save_data(PrecisionKey, Autocast.Current);
        ctx.save_data(ParametersKey, vars[FirstParameter..].Cast<Tensor>().ToArray());
        ctx.save_data(InputGradKey, hidden.requires_grad);
        // an unused output (the auxiliary loss outside d2s) gets no gradient rather than zeros
        CustomFunctionMemory.Track(ctx); // set_materialize_grads(false) too
        return auxiliary is null ? [output] : [output, auxiliary.LastAuxiliaryLoss!];
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grad_outputs)
    {
        HandedOverGradients.Release();
        var layer = (Qwen2DecoderLayer)ctx.get_data(LayerKey);
        var parameters = (Tensor[])ctx.get_data(ParametersKey);
        bool inputRequiresGrad = (bool)ctx.get_data(InputGradKey);
        var auxiliary = layer.AuxiliaryLossFeedForward;
        var results = new Tensor?[FirstParameter + parameters.Length];

        using (var scope = torch.NewDisposeScope())
        {
            var saved = CustomFunctionMemory.TakeSaved(ctx); // the layer's input goes with this scope, as the backward moves on
            var (hidden, cos, sin, mask, randomState, packedIndex) = (saved[0], saved[1], saved[2], saved[3], saved[4], saved[5]);
            PackedTokens? packed = null;
            if (packedIndex is not null)
            {
                var (realCount, batch, length) = ((long, long, long))ctx.get_data(PackedShapeKey);
                packed = PackedTokens.From(packedIndex, realCount, batch, length);
            }
            using (torch.enable_grad())
            using (Autocast.Enter((ComputePrecision)ctx.get_data(PrecisionKey)))
            {
                var input = hidden.detach().requires_grad_(inputRequiresGrad);
                var current = randomState is null ? null : auxiliary!.RandomState();
                if (randomState is not null) auxiliary!.RestoreRandomState(randomState);
                Tensor output;
                Tensor? auxiliaryLoss;
                try { (output, auxiliaryLoss) = layer.Recompute(input, cos, sin, mask, packed, (bool)ctx.get_data(CausalKey)); }
                finally { if (current is not null) auxiliary!.RestoreRandomState(current); } // the recomputation leaves the stream as it found it

                var differentiated = new List<Tensor>();
                var incoming = new List<Tensor>();
                void Add(Tensor recomputed, Tensor grad)
                {
                    if (grad.IsInvalid || !recomputed.requires_grad) return;
                    differentiated.Add(recomputed);
                    incoming.Add(grad);
                }
                Add(output, grad_outputs[0]);
                if (auxiliaryLoss is not null) Add(auxiliaryLoss, grad_outputs[1]);

                var inputs = inputRequiresGrad ? [input, .. parameters] : parameters;
                if (differentiated.Count > 0)
                {
                    var grads = torch.autograd.grad(differentiated, inputs, incoming, allow_unused: true);
                    int offset = inputRequiresGrad ? 1 : 0;
                    if (inputRequiresGrad) results[1] = grads[0];
                    for (int i = 0; i < parameters.Length; i++) results[FirstParameter + i] = grads[offset + i];
                }
            }
            HandedOverGradients.Park(results);
        }
        foreach (var grad in grad_outputs) grad.Dispose();
        return [.. results.Select(g => g is null || g.IsInvalid ? null! : g)];
    }

}
