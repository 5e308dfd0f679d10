using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using LlavaMod.Training.Losses;
using LlavaMod.Training.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.Losses;

/// <summary>
/// The training losses fused with the lm head (<see cref="ChunkedHeadLoss"/>) against PyTorch computing them the
/// unfused way, in float64, on materialised logits: loss, the hidden states' gradient and the head matrix's gradient,
/// with chunk widths that split the vocabulary unevenly.
/// </summary>
public class FusedHeadTests
{
    const long N = 9, D = 6, V = 23;

    sealed record Case(Tensor Hidden, Tensor Weight, Tensor Targets, Tensor Ids, Tensor LogProbs, Tensor Tail, Tensor TeacherHidden, Tensor TeacherWeight);

    static Case Build()
    {
        TorchRuntime.EnsureLoaded();
        var gen = new Generator(41);
        var hidden = randn(N, D, generator: gen);
        var weight = randn(V, D, generator: gen).MulScalar(0.8);
        var targets = randint(0, V, [N], generator: gen);
        var teacherHidden = randn(N, 4, generator: gen);
        var teacherWeight = randn(V, 4, generator: gen);
        var teacherLogProbs = teacherHidden.matmul(teacherWeight.t()).to_type(ScalarType.Float64).log_softmax(-1);
        var (values, ids) = teacherLogProbs.topk(5, dim: -1);
        var inTop = zeros_like(teacherLogProbs, dtype: ScalarType.Bool).scatter(-1, ids, ones_like(ids, dtype: ScalarType.Bool));
        var tail = teacherLogProbs.masked_fill(inTop, LongLivedScalars.NegativeInfinity).logsumexp(-1);
        return new Case(hidden, weight, targets, ids, values.to_type(ScalarType.Float32), tail.to_type(ScalarType.Float32), teacherHidden, teacherWeight);
    }

    static JsonElement Reference(Case c) => PythonReference.Run(new JsonObject
    {
        ["kind"] = "fused_head", ["hidden"] = PythonReference.Encode(c.Hidden), ["weight"] = PythonReference.Encode(c.Weight),
        ["targets"] = PythonReference.Encode(c.Targets), ["ids"] = PythonReference.Encode(c.Ids),
        ["teacher_logprobs"] = PythonReference.Encode(c.LogProbs), ["teacher_tail"] = PythonReference.Encode(c.Tail),
        ["teacher_hidden"] = PythonReference.Encode(c.TeacherHidden), ["teacher_weight"] = PythonReference.Encode(c.TeacherWeight),
    });

    static Tensor Scalar(string name, Case c, HeadInputs head, long columns) => name switch
    {
        "ce" => SupervisedCrossEntropy.Compute(ChunkedHeadLoss.Compute(head, new TargetLogProbs(c.Targets), columns)),
        "topk" => FullVocabularyMimic.MeanOverPositions(ChunkedHeadLoss.Compute(head, new TopKTailMimic(c.Ids, c.LogProbs, c.Tail), columns)),
        _ => FullVocabularyMimic.MeanOverPositions(ChunkedHeadLoss.Compute(head, new FullVocabularyMimic(new HeadInputs(c.TeacherHidden, c.TeacherWeight)), columns)),
    };

    [Theory]
    [InlineData(5L)]
    [InlineData(23L)]
    public void Loss_and_both_gradients_match_the_unfused_torch_computation(long columns)
    {
        var c = Build();
        var reference = Reference(c);
        foreach (var name in new[] { "ce", "topk", "kl" })
        {
            var hidden = c.Hidden.detach().requires_grad_(true);
            var weight = c.Weight.detach().requires_grad_(true);
            var loss = Scalar(name, c, new HeadInputs(hidden, weight), columns);
            loss.backward();
            var expected = reference.GetProperty(name);
            PythonReference.AssertClose(expected.GetProperty("loss").GetDouble(), loss.item<float>(), 1e-5, $"{name} loss");
            PythonReference.AssertClose(PythonReference.Data(expected.GetProperty("grad_hidden")), PythonReference.ToDoubles(hidden.grad!), 1e-5, $"{name} hidden grad");
            PythonReference.AssertClose(PythonReference.Data(expected.GetProperty("grad_weight")), PythonReference.ToDoubles(weight.grad!), 1e-5, $"{name} weight grad");
        }
    }

    [Theory]
    [InlineData(3L)]  // chunks narrower than k
    [InlineData(5L)]
    [InlineData(23L)] // one chunk
    public void Top_k_log_probs_over_chunks_equal_the_top_k_of_the_whole_log_softmax(long columns)
    {
        var c = Build();
        using var _ = no_grad();
        var topK = new TopKLogProbs(5);
        var values = ChunkedHeadLoss.Compute(new HeadInputs(c.Hidden, c.Weight), topK, columns); // (N, 5)
        var indices = topK.TakeColumns();
        var (expected, expectedIndices) = c.Hidden.to_type(ScalarType.Float64).matmul(c.Weight.to_type(ScalarType.Float64).t()).log_softmax(-1).topk(5, dim: -1);
        Assert.Equal(new long[] { N, 5 }, values.shape);
        Assert.True(indices.eq(expectedIndices).all().item<bool>(), "the chunked top-k picked other columns");
        double difference = (values.to_type(ScalarType.Float64) - expected).abs().max().item<double>();
        Assert.True(difference < 1e-5, $"top-k log-probs differ by {difference:E2}");
    }

    [Fact]
    public void Top_k_wider_than_the_vocabulary_is_refused()
    {
        var c = Build();
        using var _ = no_grad();
        var e = Assert.ThrowsAny<Exception>(() => ChunkedHeadLoss.Compute(new HeadInputs(c.Hidden, c.Weight), new TopKLogProbs((int)V + 1), 5));
        Assert.Contains($"top-{V + 1} asked of a head with only {V} columns", e.ToString());
    }

    [Fact]
    public void Combined_terms_in_one_pass_equal_the_terms_apart()
    {
        var c = Build();
        var hidden = c.Hidden.detach().requires_grad_(true);
        var values = ChunkedHeadLoss.Compute(new HeadInputs(hidden, c.Weight), new CombinedChunkLoss(new TargetLogProbs(c.Targets), new TopKTailMimic(c.Ids, c.LogProbs, c.Tail)), 7); // (N, 2)
        var total = SupervisedCrossEntropy.Compute(values.select(1, 0)).Plus(FullVocabularyMimic.MeanOverPositions(values.select(1, 1)).MulScalar(0.5));
        total.backward();
        var apart = c.Hidden.detach().requires_grad_(true);
        var ce = Scalar("ce", c, new HeadInputs(apart, c.Weight), 7);
        var kl = Scalar("topk", c, new HeadInputs(apart, c.Weight), 7);
        ce.Plus(kl.MulScalar(0.5)).backward();
        PythonReference.AssertClose(PythonReference.ToDoubles(apart.grad!), PythonReference.ToDoubles(hidden.grad!), 1e-6, "combined hidden grad");
        Assert.Equal(ce.item<float>(), SupervisedCrossEntropy.Compute(values.select(1, 0)).item<float>(), 6);
    }

    /// <summary>A loss that keeps a new tensor per chunk, as every loss here did before session 9.</summary>
    sealed class KeepsPerChunk : VocabularyChunkLoss
    {
        protected override void Begin(long positions, int chunks, Device device) { }
        protected override void Accumulate(Tensor logits, Tensor? teacherLogits, long start, int chunk) => Keep(logits.logsumexp(1));
        protected override Tensor Finish() => zeros(N);
        protected override Tensor Gradient(Tensor logits, Tensor? teacherLogits, long start, Tensor upstream) => zeros_like(logits);
    }

    [Fact]
    public void A_loss_that_keeps_tensors_from_inside_the_chunk_loop_is_refused()
    {
        // Such a tensor is allocated while the chunk's logits are live and lands in the hole the last chunk's logits
        // left, so each chunk's logits come from fresh memory: ~600 MB per forward at the real vocabulary.
        var c = Build();
        var e = Assert.Throws<InvalidOperationException>(() => ChunkedHeadLoss.Compute(new HeadInputs(c.Hidden, c.Weight), new KeepsPerChunk(), 5));
        Assert.Contains("KeepsPerChunk keeps a tensor from inside the chunk loop", e.Message);
        // the losses in use make their statistics before the loop: several chunks pass
        using var _ = no_grad();
        ChunkedHeadLoss.Compute(new HeadInputs(c.Hidden, c.Weight), new CombinedChunkLoss(new TargetLogProbs(c.Targets), new TopKTailMimic(c.Ids, c.LogProbs, c.Tail),
            new FullVocabularyMimic(new HeadInputs(c.TeacherHidden, c.TeacherWeight))), 5);
    }

    [Fact]
    public void Without_autograd_the_values_are_the_same_and_nothing_is_kept()
    {
        var c = Build();
        Tensor withGrad = ChunkedHeadLoss.Compute(new HeadInputs(c.Hidden.detach().requires_grad_(true), c.Weight), new TargetLogProbs(c.Targets), 5);
        using (no_grad())
        {
            var plain = ChunkedHeadLoss.Compute(new HeadInputs(c.Hidden, c.Weight), new TargetLogProbs(c.Targets), 5);
            Assert.False(plain.requires_grad);
            Assert.Equal(withGrad.detach().data<float>().ToArray(), plain.data<float>().ToArray());
        }
    }

    [Fact]
    public void A_tied_leaf_weight_gets_both_gradients_accumulated_across_steps()
    {
        // The head matrix is also the embedding table (tied, as Qwen2-0.5B): the fused backward writes into .grad, the
        // lookup's gradient arrives through the engine, and a second backward adds to both.
        var c = Build();
        Tensor Grad(bool fused)
        {
            var weight = c.Weight.detach().requires_grad_(true);
            for (int step = 0; step < 2; step++)
            {
                var hidden = c.Hidden.Plus(weight.index_select(0, c.Targets)); // (N, D): embeddings of the targets, then the head
                var loss = fused
                    ? SupervisedCrossEntropy.Compute(ChunkedHeadLoss.Compute(new HeadInputs(hidden, weight), new TargetLogProbs(c.Targets), 5))
                    : nn.functional.cross_entropy(hidden.matmul(weight.t()), c.Targets);
                loss.backward();
            }
            return weight.grad!;
        }
        PythonReference.AssertClose(PythonReference.ToDoubles(Grad(fused: false)), PythonReference.ToDoubles(Grad(fused: true)), 1e-5, "tied weight grad");
    }

    [Fact]
    public void Mismatched_shapes_are_refused_with_both_shapes()
    {
        var c = Build();
        var error = Assert.Throws<ArgumentException>(() => ChunkedHeadLoss.Compute(new HeadInputs(c.Hidden, c.TeacherWeight), new TargetLogProbs(c.Targets)));
        Assert.Contains("[9, 6]", error.Message);
        Assert.Contains("[23, 4]", error.Message);
    }
}
