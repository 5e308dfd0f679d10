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
    [Fact]
    public void Sft_cross_entropy_matches_the_hugging_face_shifted_loss()
    {
        TorchRuntime.EnsureLoaded();
        var gen = new Generator(21);
        var logits = randn(3, 7, 10, generator: gen);
        var labels = randint(0, 10, [3, 7], generator: gen);
        using var ignored = LlavaBatch.IgnoreIndex.ToScalar();
        foreach (var (row, column) in new[] { (0, 0), (0, 1), (2, 6), (1, 3) }) labels[row, column].fill_(ignored);
        var l = logits.detach().requires_grad_(true);
        var loss = SupervisedCrossEntropy.Compute(SupervisedPositions.Select(l, labels), SupervisedPositions.Targets(labels));
        loss.backward();
        var reference = PythonReference.Run(new JsonObject
        {
            ["kind"] = "sft", ["logits"] = PythonReference.Encode(logits), ["labels"] = PythonReference.Encode(labels),
        });
        PythonReference.AssertClose(reference.GetProperty("loss").GetDouble(), loss.item<float>(), 1e-5, "loss");
        PythonReference.AssertClose(PythonReference.Data(reference.GetProperty("grad")), PythonReference.ToDoubles(l.grad!), 1e-5, "grad");
    }
}
