using System.Text.Json.Nodes;
using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using LlavaMod.Models.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Moe;

/// <summary>
/// MoeLayer against moe_reference.py, a re-typing of DeepSpeed 0.9.5's top2gating and MOELayer in
/// PyTorch: outputs, combine weights, l_aux and gradients within 1e-5, drop sets and capacity exact.
/// </summary>
public class MoeLayerReferenceTests
{
    const float Tolerance = 1e-5f;

    public MoeLayerReferenceTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Random_routing_without_capacity_pressure_matches_reference()
    {
        var c = MoeCase.Random(seed: 1, tokens: 24, experts: 4);
        var (routing, reference) = CompareWithReference(c, capacityFactor: 2.0, minCapacity: 4);
        Assert.Equal(24, reference["capacity"]!.GetValue<long>()); // ceil(24/4 · 2 · 2)
        Assert.All(routing.KeptCounts.Zip(routing.RoutedCounts), p => Assert.Equal(p.Second, p.First));
    }

    [Fact]
    public void Capacity_pressure_drops_the_same_choices_as_reference()
    {
        var c = MoeCase.Random(seed: 2, tokens: 40, experts: 4);
        var (routing, _) = CompareWithReference(c, capacityFactor: 0.5, minCapacity: 0);
        Assert.Equal(10, routing.Capacity); // ceil(40/4 · 0.5 · 2)
        Assert.True(routing.DroppedCounts.Sum() > 0, "case must drop some choices");
    }

    [Fact]
    public void One_overloaded_expert_keeps_first_choices_in_token_order_and_fully_drops_some_tokens()
    {
        var c = MoeCase.Random(seed: 3, tokens: 32, experts: 4);
        using (no_grad())
        using (var loves = 4.0f.ToScalar())
        using (var likes = 3.0f.ToScalar())
        {
            c.X[.., 0] = c.X[.., 0].abs().AddScalar(1.0);   // a feature every token has
            c.Wg[0, 0].fill_(loves);                 // expert 0 loves it: first choice of nearly all
            c.Wg[1, 0].fill_(likes);                 // expert 1 is nearly everyone's second choice
        }
        var (routing, _) = CompareWithReference(c, capacityFactor: 0.75, minCapacity: 4);
        Assert.True(routing.FirstChoiceCounts[0] > routing.Capacity, "expert 0 must be overloaded");
        Assert.Equal(routing.Capacity, routing.KeptCounts[0]);
        Assert.True(routing.FullyDroppedTokens > 0);
    }

    [Fact]
    public void Exact_ties_pick_the_lowest_expert_index_as_reference()
    {
        // Zero router: every gate is 1/E, so choices are experts 0 then 1 for every token; capacity
        // ceil(8/4 · 1 · 2) = 4 keeps tokens 0..3 at both experts and drops tokens 4..7 entirely
        // (the eps clamp keeps their weights at 0 instead of NaN).
        var c = MoeCase.Random(seed: 4, tokens: 8, experts: 4);
        using (no_grad()) c.Wg.zero_();
        var (routing, _) = CompareWithReference(c, capacityFactor: 1.0, minCapacity: 0);
        Assert.Equal(4, routing.FullyDroppedTokens);
        Assert.False(routing.Weights.isnan().any().item<bool>());
    }

    [Fact]
    public void Tie_between_two_experts_after_the_first_choice_matches_reference()
    {
        var c = MoeCase.Random(seed: 5, tokens: 16, experts: 4);
        using (no_grad()) c.Wg[2] = c.Wg[1].clone();
        CompareWithReference(c, capacityFactor: 1.0, minCapacity: 2);
    }

    [Fact]
    public void Min_capacity_raises_a_small_capacity_as_reference()
    {
        var c = MoeCase.Random(seed: 6, tokens: 6, experts: 4);
        var (routing, _) = CompareWithReference(c, capacityFactor: 0.25, minCapacity: 3);
        Assert.Equal(3, routing.Capacity); // ceil(6/4 · 0.5) = 1 < 3
    }

    [Fact]
    public void Capacity_formula_matches_DeepSpeed_float32_arithmetic_on_a_grid()
    {
        var grid = new List<object[]>();
        foreach (int tokens in new[] { 1, 3, 7, 10, 20, 33, 100, 257, 1000, 4096, 12345 })
            foreach (int experts in new[] { 2, 3, 4, 8 })
                foreach (double cf in new[] { 0.1, 0.25, 0.5, 1.0, 1.1, 1.25, 1.5, 2.0, 0.3, 0.7 })
                    foreach (int minCap in new[] { 0, 4 })
                        grid.Add([tokens, experts, cf, minCap]);
        var reference = PythonReference.Run("moe_reference.py", new { capacity_grid = grid });
        var expected = PythonReference.Longs(reference["capacities"]!);
        var actual = grid.Select(g => TopKGating.Capacity((int)g[0], (int)g[1], (double)g[2], 2, (int)g[3])).ToArray();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Training_and_eval_modes_use_their_own_capacity_factor()
    {
        var c = MoeCase.Random(seed: 7, tokens: 40, experts: 4, withCotangent: false);
        var layer = c.BuildLayer(new MoeLayerOptions { CapacityFactor = 0.5, EvalCapacityFactor = 2.0, MinCapacity = 0 });
        layer.train();
        using (no_grad()) layer.call(c.X).Dispose();
        Assert.Equal(10, layer.LastRouting!.Capacity);
        layer.eval();
        using (no_grad()) layer.call(c.X).Dispose();
        Assert.Equal(40, layer.LastRouting!.Capacity);
    }

    /// <summary>Runs C# (eval mode, capacity factor as given) and the reference on the case and compares everything.</summary>
    static (MoeRouting Routing, JsonNode Reference) CompareWithReference(MoeCase c, double capacityFactor, int minCapacity)
    {
        var reference = PythonReference.Run("moe_reference.py", c.ToReferenceInput(capacityFactor, minCapacity));
        var layer = c.BuildLayer(new MoeLayerOptions { CapacityFactor = capacityFactor, EvalCapacityFactor = capacityFactor, MinCapacity = minCapacity });
        layer.eval();
        var output = layer.call(c.X);
        var routing = layer.LastRouting!;
        int n = (int)c.X.shape[0], e = c.Experts;

        Assert.Equal(reference["capacity"]!.GetValue<long>(), routing.Capacity);
        Assert.Equal(PythonReference.Longs(reference["indices1"]!), routing.ExpertIndices[.., 0].data<long>().ToArray());
        Assert.Equal(PythonReference.Longs(reference["indices2"]!), routing.ExpertIndices[.., 1].data<long>().ToArray());

        // Per (token, expert): kept 0/1 and combine weight.
        var oneHot = nn.functional.one_hot(routing.ExpertIndices, e).to(ScalarType.Float32); // [N, k, E]
        var keptMatrix = (oneHot * routing.Kept.unsqueeze(2).to(ScalarType.Float32)).sum(1).to(ScalarType.Int64);
        var combine = (oneHot * routing.Weights.unsqueeze(2)).sum(1);
        Assert.Equal(PythonReference.Longs(reference["kept"]!), keptMatrix.data<long>().ToArray());
        AssertClose(PythonReference.Floats(reference["combine"]!), combine.detach().data<float>().ToArray(), "combine weights");
        AssertClose(PythonReference.Floats(reference["output"]!), output.detach().data<float>().ToArray(), "output");
        AssertClose([reference["l_aux"]!.GetValue<float>()], [routing.AuxLoss.item<float>()], "l_aux");

        var firstCounts = PythonReference.Longs(reference["exp_counts"]!);
        Assert.Equal(firstCounts, routing.FirstChoiceCounts);
        var keptRef = PythonReference.Longs(reference["kept"]!);
        Assert.Equal(Enumerable.Range(0, e).Select(j => Enumerable.Range(0, n).Sum(i => keptRef[i * e + j])), routing.KeptCounts);
        Assert.Equal(2L * n, routing.RoutedCounts.Sum());

        if (c.Cotangent is not null)
        {
            (output * c.Cotangent).sum().Plus(routing.AuxLoss).backward();
            AssertClose(PythonReference.Floats(reference["grad_wg"]!), layer.Router.weight!.grad!.data<float>().ToArray(), "router gradient");
            var gateGrads = Enumerable.Range(0, e).SelectMany(j =>
            {
                var g = ((TinySwiGlu)layer.Expert(j)).GateProj.weight!.grad;
                return g is null ? new float[c.Hidden * c.Dim] : g.data<float>().ToArray();
            }).ToArray();
            AssertClose(PythonReference.Floats(reference["grad_gate_proj"]!), gateGrads, "expert gate_proj gradient");
        }
        return (routing, reference);
    }

    static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance * Math.Max(1f, Math.Abs(expected[i])),
                $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}
