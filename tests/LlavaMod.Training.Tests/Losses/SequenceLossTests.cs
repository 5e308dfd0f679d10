using System.Text.Json.Nodes;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using LlavaMod.Training.Losses;
using LlavaMod.Training.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.Losses;

public class SequenceLossTests
{
    [Theory]
    [InlineData("token")]
    [InlineData("row")]
    public void Sft_cross_entropy_matches_the_hugging_face_shifted_loss(string average)
    {
        TorchRuntime.EnsureLoaded();
        var gen = new Generator(21);
        var logits = randn(3, 7, 10, generator: gen);
        var labels = randint(0, 10, [3, 7], generator: gen);
        using var ignored = LlavaBatch.IgnoreIndex.ToScalar();
        foreach (var (row, column) in new[] { (0, 0), (0, 1), (2, 6), (1, 3) }) labels[row, column].fill_(ignored);
        var l = logits.detach().requires_grad_(true);
        // Row 0 supervises 3 tokens, row 1 five (so the two averages differ), row 2 none: it must not count in the row average.
        labels[0, 2].fill_(ignored); labels[0, 3].fill_(ignored);
        labels[2].fill_(ignored);
        var (selected, targets) = (SupervisedPositions.Select(l, labels), SupervisedPositions.Targets(labels));
        var logProbs = FusedOnLogits.TokenLogProbs(selected, targets);
        var loss = average == "token"
            ? SupervisedCrossEntropy.Compute(logProbs)
            : SupervisedCrossEntropy.RowAveraged(logProbs, SupervisedPositions.Rows(labels), rowCount: 3);
        loss.backward();
        var reference = PythonReference.Run(new JsonObject
        {
            ["kind"] = "sft", ["average"] = average, ["logits"] = PythonReference.Encode(logits), ["labels"] = PythonReference.Encode(labels),
        });
        PythonReference.AssertClose(reference.GetProperty("loss").GetDouble(), loss.item<float>(), 1e-5, "loss");
        PythonReference.AssertClose(PythonReference.Data(reference.GetProperty("grad")), PythonReference.ToDoubles(l.grad!), 1e-5, "grad");
    }
}
