using System.Text.Json.Nodes;
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
        using var ignored = TokenAlignment.IgnoreIndex.ToScalar();
        foreach (var (row, column) in new[] { (0, 0), (0, 1), (2, 6), (1, 3) }) labels[row, column].fill_(ignored);
        var l = logits.detach().requires_grad_(true);
        var loss = SupervisedCrossEntropy.Compute(l, labels);
        loss.backward();
        var reference = PythonReference.Run(new JsonObject
        {
            ["kind"] = "sft", ["logits"] = PythonReference.Encode(logits), ["labels"] = PythonReference.Encode(labels),
        });
        PythonReference.AssertClose(reference.GetProperty("loss").GetDouble(), loss.item<float>(), 1e-5, "loss");
        PythonReference.AssertClose(PythonReference.Data(reference.GetProperty("grad")), PythonReference.ToDoubles(l.grad!), 1e-5, "grad");
    }

    [Fact]
    public void Per_token_log_probs_are_zero_off_the_supervised_tokens_and_sum_to_the_sequence_value()
    {
        TorchRuntime.EnsureLoaded();
        var logits = randn(2, 5, 6, generator: new Generator(2));
        var labels = tensor(new long[,] { { -100, 1, 2, -100, -100 }, { 3, 4, 5, 0, 1 } });
        var perToken = TokenLogProbs.Gather(logits, labels);
        var (sum, count) = TokenLogProbs.SumPerSequence(logits, labels);
        Assert.Equal(new long[] { 2, 4 }, count.data<long>().ToArray());
        // Row 0: positions 0 and 1 predict labels 1 and 2.
        var lp = logits.log_softmax(-1);
        float expected0 = lp[0, 0, 1].item<float>() + lp[0, 1, 2].item<float>();
        Assert.Equal(expected0, sum[0].item<float>(), 5);
        Assert.Equal(0f, perToken[0, 2].item<float>());
        Assert.Equal(0f, perToken[1, 4].item<float>());
    }
}
