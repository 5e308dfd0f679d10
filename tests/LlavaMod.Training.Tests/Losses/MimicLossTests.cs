using System.Text.Json.Nodes;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using LlavaMod.Training.Losses;
using LlavaMod.Training.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.Losses;

public class MimicLossTests
{
    const double Tol = 1e-5;

    static (Tensor Student, Tensor Teacher, Tensor Labels) RandomBatch(int seed, long b = 2, long t = 6, long v = 11)
    {
        TorchRuntime.EnsureLoaded();
        var gen = new Generator((ulong)seed);
        var student = randn(b, t, v, generator: gen).MulScalar(2);
        var teacher = randn(b, t, v, generator: gen).MulScalar(3);
        var labels = randint(0, v, [b, t], generator: gen);
        // Prompt tokens at the start of each row, padding at the end of row 1.
        using var ignored = LlavaBatch.IgnoreIndex.ToScalar();
        foreach (var (row, column) in new[] { (0, 0), (0, 1), (1, 0), (1, t - 1) }) labels[row, column].fill_(ignored);
        return (student, teacher, labels);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void Full_vocabulary_kl_matches_the_torch_reference(double temperature)
    {
        var (student, teacher, labels) = RandomBatch(seed: 7);
        var mask = SupervisedPositions.Mask(labels);
        var reference = PythonReference.Run(new JsonObject
        {
            ["kind"] = "mimic_full", ["temperature"] = temperature,
            ["student"] = PythonReference.Encode(student), ["teacher"] = PythonReference.Encode(teacher),
            ["mask"] = PythonReference.Encode(mask),
        });
        foreach (var (name, fn) in new (string, Func<Tensor, Tensor>)[]
                 {
                     ("kl", s => FusedOnLogits.Kl(s[mask], teacher[mask], temperature)),
                 })
        {
            var s = student.detach().requires_grad_(true);
            var loss = fn(s);
            loss.backward();
            var expected = reference.GetProperty(name);
            PythonReference.AssertClose(expected.GetProperty("loss").GetDouble(), loss.item<float>(), Tol, name + " loss");
            PythonReference.AssertClose(PythonReference.Data(expected.GetProperty("grad")), PythonReference.ToDoubles(s.grad!), Tol, name + " grad");
        }
    }

    /// <summary>The teacher's top-k of its own log-softmax, and the exact tail log-mass (float64).</summary>
    internal static (Tensor Ids, Tensor LogProbs, Tensor Tail) TeacherTopK(Tensor teacherLogits, int k)
    {
        var lp = teacherLogits.to_type(ScalarType.Float64).log_softmax(-1);
        var (values, ids) = lp.topk(k, dim: -1);
        var inTop = zeros_like(lp, dtype: ScalarType.Bool).scatter(-1, ids, ones_like(ids, dtype: ScalarType.Bool));
        var tail = lp.masked_fill(inTop, LongLivedScalars.NegativeInfinity).logsumexp(-1);
        return (ids, values.to_type(ScalarType.Float32), tail.to_type(ScalarType.Float32));
    }

    [Fact]
    public void Top_k_tail_kl_and_covered_mass_match_the_float64_bucket_reference()
    {
        var (student, teacher, labels) = RandomBatch(seed: 11, v: 13);
        var mask = SupervisedPositions.Mask(labels);
        var (ids, lp, tail) = TeacherTopK(teacher, k: 4);
        var s = student.detach().requires_grad_(true);
        var result = FusedOnLogits.TopK(s[mask], ids[mask], lp[mask], tail[mask]);
        result.Loss.backward();
        var reference = PythonReference.Run(new JsonObject
        {
            ["kind"] = "mimic_topk", ["student"] = PythonReference.Encode(student), ["ids"] = PythonReference.Encode(ids),
            ["teacher_logprobs"] = PythonReference.Encode(lp), ["teacher_tail"] = PythonReference.Encode(tail),
            ["mask"] = PythonReference.Encode(mask),
        });
        PythonReference.AssertClose(reference.GetProperty("loss").GetDouble(), result.Loss.item<float>(), Tol, "loss");
        PythonReference.AssertClose(PythonReference.Data(reference.GetProperty("grad")), PythonReference.ToDoubles(s.grad!), Tol, "grad");
        PythonReference.AssertClose(reference.GetProperty("covered").GetDouble(), result.TeacherCoveredMass, Tol, "covered mass");
        Assert.InRange(result.TeacherCoveredMass, 0.0, 1.0);
    }

    [Fact]
    public void Top_k_tail_kl_equals_full_kl_at_k_equal_vocab_and_is_below_it_otherwise()
    {
        var (student, teacher, labels) = RandomBatch(seed: 5, v: 9);
        var mask = SupervisedPositions.Mask(labels);
        double full = FusedOnLogits.Kl(student[mask], teacher[mask]).item<float>();

        var (idsAll, lpAll, tailAll) = TeacherTopK(teacher, k: 9);
        Assert.All(tailAll.data<float>().ToArray(), t => Assert.Equal(float.NegativeInfinity, t));
        var s = student.detach().requires_grad_(true);
        var exact = FusedOnLogits.TopK(s[mask], idsAll[mask], lpAll[mask], tailAll[mask]);
        exact.Loss.backward();
        PythonReference.AssertClose(full, exact.Loss.item<float>(), Tol, "k = V");
        Assert.Equal(1.0, exact.TeacherCoveredMass, 5);
        Assert.False(s.grad!.isnan().any().item<bool>(), "gradients must stay finite when the tail is empty");
        // A cache that stored float rounding (1 − Σp ≈ 1e-8) instead of −∞ as the empty tail gives the same loss.
        using var roundingMass = Math.Log(1e-8).ToScalar();
        var roundingTail = torch.full_like(tailAll, roundingMass);
        PythonReference.AssertClose(full, FusedOnLogits.TopK(student[mask], idsAll[mask], lpAll[mask], roundingTail[mask]).Loss.item<float>(), Tol, "k = V, rounding tail");

        double previous = double.NegativeInfinity;
        foreach (int k in new[] { 1, 3, 6, 8 })
        {
            var (ids, lp, tail) = TeacherTopK(teacher, k);
            double value = FusedOnLogits.TopK(student[mask], ids[mask], lp[mask], tail[mask]).Loss.item<float>();
            Assert.True(value <= full + 1e-6, $"k={k}: bucketed KL {value} must not exceed the full KL {full}");
            Assert.True(value >= -1e-6, $"k={k}: KL must be non-negative, got {value}");
            Assert.True(value >= previous - 1e-5, $"k={k}: finer buckets (larger k) must not lower the KL ({value} < {previous})");
            previous = value;
        }
    }
}
