using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Summed log-probabilities of each example's labelled tokens (its response) under a model,
/// teacher-forced: the reference and policy terms of DPO-style losses. Runs the head only at the
/// labelled positions. Keeps the autograd graph (call under no_grad for a reference pass).
/// </summary>
public static class SequenceLogProbs
{
    /// <returns>Sum [B] (float32) and token count [B] (int64) per example.</returns>
    public static (Tensor Sum, Tensor Count) Compute(LlavaModel model, IReadOnlyList<SupervisedExample> examples, Device device)
    {
        using var scope = torch.NewDisposeScope();
        using var output = model.Forward(SupervisedExample.ToBatch(examples, model.Config.Vision, device), lossPositionsOnly: true);
        var tokenLogProbs = output.Logits.to(ScalarType.Float32).log_softmax(-1).gather(1, output.Targets!.unsqueeze(1)).squeeze(1);
        var rows = torch.tensor(output.Rows!, device: device);
        var sums = torch.zeros(examples.Count, dtype: ScalarType.Float32, device: device).index_add(0, rows, tokenLogProbs, 1);
        var counts = torch.zeros(examples.Count, dtype: ScalarType.Int64, device: device).index_add(0, rows, torch.ones_like(rows), 1);
        return (sums.MoveToOuterDisposeScope(), counts.MoveToOuterDisposeScope());
    }
}
