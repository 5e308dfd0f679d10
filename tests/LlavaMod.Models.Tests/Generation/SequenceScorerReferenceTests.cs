using System.Text.Json;
using LlavaMod.Models.Generation;
using LlavaMod.Models.IO;
using LlavaMod.Models.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Generation;

/// <summary>
/// <see cref="SequenceScorer"/> (the pd stage's policy log-probs, <c>pairs reference</c>, mining) against PyTorch: a tiny
/// LLaVA scores three (prompt, response) pairs in one batch — an image mid-prompt, an image first, no image; responses
/// of 3, 1 and 5 tokens, so rows are padded differently — and make_reference.py computes the same in float64 with TRL's
/// <c>get_batch_logps</c> (logits shifted by one, label −100 masked, sum and mean per row).
/// </summary>
[Collection(ReferenceCollection.Name)]
public class SequenceScorerReferenceTests(ReferenceFixture reference)
{
    const double Tolerance = 1e-4;

    (LlavaBatch Prompts, long[][] Responses) Batch()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(reference.Dir("scorer_batch.json")));
        long[][] Rows(string key) => doc.RootElement.GetProperty(key).EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        return (new LlavaBatch { InputIds = Rows("prompts"), PixelValues = reference.Get("scorer.pixel_values") }, Rows("responses"));
    }

    static double[] Doubles(Tensor t) => t.to(ScalarType.Float64).data<double>().ToArray();

    /// <summary>|expected − actual| ≤ tolerance · max(1, |expected|) element by element.</summary>
    static void Close(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"{what} {i}: PyTorch {expected[i]:R}, ours {actual[i]:R}");
    }

    [Fact]
    public void Summed_log_probs_with_the_autograd_graph_match_trl_get_batch_logps()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        model.train(); // the pd stage's policy pass
        var (prompts, responses) = Batch();
        using var sums = SequenceScorer.SumLogProbs(model, prompts, responses);
        Assert.True(sums.requires_grad, "policy log-probs keep the graph");
        Close(Doubles(reference.Get("scorer.sum")), Doubles(sums.detach()), "sum");
    }

    [Fact]
    public void Per_token_log_probs_counts_and_means_match_trl_get_batch_logps()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        var (prompts, responses) = Batch();
        var scores = SequenceScorer.LogProbs(model, prompts, responses);
        Assert.Equal(reference.Get("scorer.count").data<long>().ToArray(), scores.Select(s => (long)s.Count).ToArray());
        Assert.Equal(responses.Select(r => (long)r.Length), scores.Select(s => (long)s.Count));
        Close(Doubles(reference.Get("scorer.token_logps")), scores.SelectMany(s => s.TokenLogProbs.Select(p => (double)p)).ToArray(), "token log-prob");
        Close(Doubles(reference.Get("scorer.sum")), scores.Select(s => s.Sum).ToArray(), "sum");
        Close(Doubles(reference.Get("scorer.mean")), scores.Select(s => s.Sum / s.Count).ToArray(), "mean");
    }
}
