using System.Text.Json.Nodes;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using LlavaMod.Training.Losses;
using LlavaMod.Training.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.Losses;

public class PreferenceLossTests
{
    const double Tol = 1e-5;

    [Theory]
    [InlineData("sigmoid", PreferenceLossType.Sigmoid, 0.0, -1.0)]
    [InlineData("sigmoid", PreferenceLossType.Sigmoid, 1.0, 2.0)]
    [InlineData("kto_pair", PreferenceLossType.KtoPair, 0.0, -3.0)] // policy above reference: batch KL > 0
    [InlineData("kto_pair", PreferenceLossType.KtoPair, 0.0, 3.0)]  // policy below reference: KL clamps to 0
    [InlineData("hsa_dpo", PreferenceLossType.HsaDpo, 0.0, 0.5)]
    [InlineData("ipo", PreferenceLossType.Ipo, 0.0, -0.5)]
    [InlineData("ipo", PreferenceLossType.Ipo, 1.0, 0.5)]
    [InlineData("hinge", PreferenceLossType.Hinge, 0.0, -1.0)]
    [InlineData("hinge", PreferenceLossType.Hinge, 0.0, 4.0)]
    [InlineData("sigmoid", PreferenceLossType.Sigmoid, 0.0, -1.0, 0.2)]
    [InlineData("sigmoid", PreferenceLossType.Sigmoid, 1.0, 2.0, 0.5)]
    public void Loss_gradients_and_metrics_match_trl(string trlName, PreferenceLossType type, double rpoWeight, double referenceOffset, double labelSmoothing = 0.0)
    {
        TorchRuntime.EnsureLoaded();
        var gen = new Generator(1234);
        const long n = 4, t = 6, v = 7;
        var chosenLogits = randn(n, t, v, dtype: ScalarType.Float64, generator: gen);
        var rejectedLogits = randn(n, t, v, dtype: ScalarType.Float64, generator: gen);
        var chosenLabels = randint(0, v, [n, t], generator: gen);
        var rejectedLabels = randint(0, v, [n, t], generator: gen);
        using var ignored = LlavaBatch.IgnoreIndex.ToScalar();
        for (int i = 0; i < n; i++) { chosenLabels[i, 0].fill_(ignored); rejectedLabels[i, 0].fill_(ignored); }
        chosenLabels[1, 5].fill_(ignored); chosenLabels[1, 4].fill_(ignored); rejectedLabels[2, 5].fill_(ignored);
        var severity = rand(n, dtype: ScalarType.Float64, generator: gen).MulScalar(2).AddScalar(0.5);

        var c = chosenLogits.detach().requires_grad_(true);
        var r = rejectedLogits.detach().requires_grad_(true);
        var (pc, nc) = SupervisedPositions.SequenceLogProbs(c, chosenLabels);
        var (pr, nr) = SupervisedPositions.SequenceLogProbs(r, rejectedLabels);
        var refChosen = pc.detach().AddScalar(referenceOffset).Plus(randn(n, dtype: ScalarType.Float64, generator: gen));
        var refRejected = pr.detach().AddScalar(referenceOffset).Plus(randn(n, dtype: ScalarType.Float64, generator: gen));

        var result = PreferenceLoss.Compute(
            new PreferenceBatch(pc, pr, refChosen, refRejected, severity, nc, nr),
            new PreferenceLossOptions(type, Beta: 0.1, RpoWeight: rpoWeight, LabelSmoothing: labelSmoothing));
        result.Loss.backward();

        var reference = PythonReference.Run(new JsonObject
        {
            ["kind"] = "preference", ["dtype"] = "float64", ["loss_type"] = trlName, ["beta"] = 0.1, ["rpo_weight"] = rpoWeight, ["label_smoothing"] = labelSmoothing,
            ["chosen_logits"] = PythonReference.Encode(chosenLogits), ["rejected_logits"] = PythonReference.Encode(rejectedLogits),
            ["chosen_labels"] = PythonReference.Encode(chosenLabels), ["rejected_labels"] = PythonReference.Encode(rejectedLabels),
            ["ref_chosen"] = PythonReference.Encode(refChosen), ["ref_rejected"] = PythonReference.Encode(refRejected),
            ["severity"] = PythonReference.Encode(severity),
        });
        PythonReference.AssertClose(PythonReference.Data(reference.GetProperty("policy_chosen")), PythonReference.ToDoubles(pc), Tol, "π_w");
        PythonReference.AssertClose(PythonReference.Data(reference.GetProperty("policy_rejected")), PythonReference.ToDoubles(pr), Tol, "π_l");
        PythonReference.AssertClose(reference.GetProperty("loss").GetDouble(), result.Loss.item<double>(), Tol, "loss");
        PythonReference.AssertClose(PythonReference.Data(reference.GetProperty("grad_chosen")), PythonReference.ToDoubles(c.grad!), Tol, "grad chosen logits");
        PythonReference.AssertClose(PythonReference.Data(reference.GetProperty("grad_rejected")), PythonReference.ToDoubles(r.grad!), Tol, "grad rejected logits");
        var m = result.Metrics;
        PythonReference.AssertClose(reference.GetProperty("reward_chosen").GetDouble(), m.RewardChosen, Tol, "reward chosen");
        PythonReference.AssertClose(reference.GetProperty("reward_rejected").GetDouble(), m.RewardRejected, Tol, "reward rejected");
        PythonReference.AssertClose(reference.GetProperty("reward_margin").GetDouble(), m.RewardMargin, Tol, "margin");
        PythonReference.AssertClose(reference.GetProperty("reward_accuracy").GetDouble(), m.RewardAccuracy, Tol, "accuracy");
        if (rpoWeight != 0)
            PythonReference.AssertClose(reference.GetProperty("chosen_nll").GetDouble(), m.ChosenNll, Tol, "chosen NLL");
    }

    [Fact]
    public void Kto_pair_loss_of_a_pair_depends_on_the_rest_of_its_batch()
    {
        TorchRuntime.EnsureLoaded();
        var pc = tensor(new[] { -10.0, -12.0 }); var pr = tensor(new[] { -11.0, -9.0 });
        var rc = tensor(new[] { -11.0, -20.0 }); var rr = tensor(new[] { -10.0, -10.0 });
        var options = new PreferenceLossOptions(PreferenceLossType.KtoPair);
        double alone = PreferenceLoss.Compute(new PreferenceBatch(pc[..1], pr[..1], rc[..1], rr[..1]), options).Loss.item<double>();
        double inBatch = PreferenceLoss.Compute(new PreferenceBatch(pc, pr, rc, rr), options).Loss.item<double>();
        // Alone: ratios w = 1, l = −1 ⇒ KL_w = 1, KL_l = 0 ⇒ losses 1 − σ(0.1), 1 − σ(0.2); mean of 2 terms.
        double expectedAlone = ((1 - Sigmoid(0.1)) + (1 - Sigmoid(0.2))) / 2;
        Assert.Equal(expectedAlone, alone, 12);
        Assert.NotEqual(alone, inBatch);
    }

    [Fact]
    public void Label_smoothing_is_refused_outside_dpo_and_ipo_needs_both_token_counts()
    {
        TorchRuntime.EnsureLoaded();
        var x = tensor(new[] { -10.0, -12.0 });
        var smoothed = Assert.Throws<ArgumentException>(() => PreferenceLoss.Compute(new PreferenceBatch(x, x, x, x), new PreferenceLossOptions(PreferenceLossType.Ipo, LabelSmoothing: 0.1)));
        Assert.Contains("label_smoothing applies to the sigmoid (DPO) loss only", smoothed.Message);
        var counts = Assert.Throws<ArgumentException>(() => PreferenceLoss.Compute(new PreferenceBatch(x, x, x, x, ChosenTokenCounts: tensor(new long[] { 3, 4 })), new PreferenceLossOptions(PreferenceLossType.Ipo)));
        Assert.Contains("IPO needs ChosenTokenCounts and RejectedTokenCounts", counts.Message);
    }

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}
