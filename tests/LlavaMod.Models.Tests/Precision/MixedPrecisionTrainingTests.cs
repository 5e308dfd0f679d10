using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using LlavaMod.Models.Tests.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Precision;

/// <summary>
/// Training under bf16 mixed precision: gradients reach the fp32 master weights and stay close to the fp32
/// gradients, the optimizer keeps everything fp32, and a tiny model still overfits a few rows.
/// </summary>
public class MixedPrecisionTrainingTests
{
    public MixedPrecisionTrainingTests() => TorchRuntime.EnsureLoaded();

    static Tensor Ids(int rows = 4, int length = 12, ulong seed = 5) => randint(0, 61, [rows, length], generator: new Generator(seed));

    static Tensor NextTokenLoss(Qwen2ForCausalLM model, Tensor ids)
    {
        var logits = model.Forward(ids);
        long v = logits.shape[2];
        return nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, v), ids[.., 1..].reshape(-1));
    }

    static Dictionary<string, Tensor> Gradients(Qwen2ForCausalLM model, Tensor ids, ComputePrecision precision)
    {
        model.zero_grad();
        Tensor loss;
        using (Autocast.Enter(precision)) loss = NextTokenLoss(model, ids);
        loss.backward(); // after the scope: the graph keeps what it needs
        return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone());
    }

    static void AssertGradientsClose(Qwen2ForCausalLM model, Tensor ids, double globalTolerance, double perTensorTolerance)
    {
        var fp32 = Gradients(model, ids, ComputePrecision.Fp32);
        var bf16 = Gradients(model, ids, ComputePrecision.Bf16);
        double squaredError = 0, squaredNorm = 0;
        foreach (var (name, g32) in fp32)
        {
            var g16 = bf16[name];
            Assert.Equal(ScalarType.Float32, g16.dtype);
            double error = (g16 - g32).norm().item<float>(), norm = g32.norm().item<float>();
            squaredError += error * error;
            squaredNorm += norm * norm;
            Assert.True(error <= perTensorTolerance * norm + 1e-6, $"{name}: bf16 gradient differs by {error / norm:P2} of its norm");
        }
        double relative = Math.Sqrt(squaredError / squaredNorm);
        Assert.True(relative <= globalTolerance, $"bf16 gradients differ from fp32 by {relative:P2} overall");
        Assert.True(relative > 1e-6, "bf16 gradients equal fp32 ones: nothing ran in bf16");
    }

    [Fact]
    public void Dense_bf16_gradients_reach_the_fp32_weights_and_stay_close_to_fp32_gradients()
    {
        var model = TinyModels.Qwen2();
        model.train();
        AssertGradientsClose(model, Ids(), globalTolerance: 0.03, perTensorTolerance: 0.06);
    }

    [Fact]
    public void Moe_bf16_gradients_including_the_fp32_router_stay_close_to_fp32_gradients()
    {
        var model = TinyModels.Qwen2();
        MoeUpcycler.Upcycle(model, new MoeConfig { CapacityFactor = 2.0, EvalCapacityFactor = 2.0 }, new Generator(3));
        model.train();
        AssertGradientsClose(model, Ids(), globalTolerance: 0.03, perTensorTolerance: 0.06);
        Assert.All(MoeUpcycler.MoeLayers(model), m => Assert.Equal(ScalarType.Float32, m.Router.weight!.dtype));
    }

    [Fact]
    public void A_tiny_model_overfits_a_few_rows_in_bf16_and_keeps_fp32_weights_and_optimizer_state()
    {
        torch.manual_seed(1);
        var model = TinyModels.Qwen2();
        model.train();
        var ids = Ids(rows: 4, length: 10, seed: 8);
        var optimizer = optim.AdamW(model.parameters(), lr: 1e-2);
        double first = double.NaN, last = double.NaN;
        for (int step = 0; step < 150; step++)
        {
            using var scope = NewDisposeScope();
            Tensor loss;
            using (Autocast.Enter(ComputePrecision.Bf16)) loss = NextTokenLoss(model, ids);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            last = loss.item<float>();
            if (step == 0) first = last;
        }
        Assert.True(first > 3.0, $"initial loss {first} (ln 61 ≈ 4.1)");
        Assert.True(last < 0.1, $"loss {first:F3} → {last:F3} after 150 bf16 steps: the model did not memorise 4 rows");
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        var state = optimizer.state_dict();
        Assert.NotEmpty(state.State);
        foreach (var s in state.State.Cast<TorchSharp.Modules.AdamW.State>())
        {
            Assert.Equal(ScalarType.Float32, s.exp_avg.dtype);
            Assert.Equal(ScalarType.Float32, s.exp_avg_sq.dtype);
        }
    }

    [Fact]
    public void A_scope_casts_each_weight_once_including_the_tied_embedding_head()
    {
        var model = new Qwen2ForCausalLM(TinyModels.TextConfig() with { TieWordEmbeddings = true });
        var ids = Ids();
        using var _ = no_grad();
        using var scope = Autocast.Enter(ComputePrecision.Bf16);
        model.Forward(ids);
        // per layer q/k/v weights and biases, o, gate, up, down = 10 tensors; plus the tied head (the embedding matrix)
        int expected = model.Config.NumHiddenLayers * 10 + 1;
        Assert.Equal(expected, scope.CachedWeights);
        model.Forward(ids);
        Assert.Equal(expected, scope.CachedWeights);
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && (a - b).abs().max().item<float>() == 0;

    [Fact]
    public void Scopes_nest_and_fp32_or_bf16_weights_are_computed_as_without_a_scope()
    {
        var model = TinyModels.Qwen2();
        var ids = Ids();
        using var _ = no_grad();
        var plain = model.Forward(ids);
        Assert.Equal(ComputePrecision.Fp32, Autocast.Current);
        using (Autocast.Enter(ComputePrecision.Bf16))
        {
            Assert.Equal(ComputePrecision.Bf16, Autocast.Current);
            using (Autocast.Enter(ComputePrecision.Fp32))
                Assert.True(Same(model.Forward(ids), plain), "an fp32 scope inside a bf16 one must compute plain fp32");
            Assert.False(Same(model.Forward(ids), plain));
        }
        Assert.Equal(ComputePrecision.Fp32, Autocast.Current);

        // a model stored in bf16 runs the same with or without a bf16 scope (the scope only casts fp32 weights)
        model.to(ScalarType.BFloat16);
        var bf16Plain = model.Forward(ids);
        using (Autocast.Enter(ComputePrecision.Bf16))
            Assert.True(Same(model.Forward(ids), bf16Plain));
    }

    [Fact]
    public void Under_bf16_blocks_hand_bf16_between_matmuls_and_the_residual_stream_stays_fp32()
    {
        var model = TinyModels.Qwen2();
        var layer = model.Model.Layers[0];
        var mlp = (Qwen2Mlp)layer.FeedForward;
        var x = randn([2, 5, model.Config.HiddenSize], generator: new Generator(3));
        using var _ = no_grad();
        var (cos, sin) = RotaryEmbedding.CosSin(ScalarOps.Arange(5).unsqueeze(0).expand(2, 5), model.Config.HeadDim, model.Config.RopeTheta, ScalarType.Float32);
        using (Autocast.Enter(ComputePrecision.Bf16))
        {
            Assert.Equal(ScalarType.BFloat16, Autocast.Linear(mlp.GateProj, x).dtype); // a matmul hands bf16 on
            Assert.Equal(ScalarType.BFloat16, mlp.forward(x).dtype);                  // SwiGLU product and down_proj in bf16
            Assert.Equal(ScalarType.Float32, layer.forward(x, cos, sin, null).dtype); // residual stream
            Assert.Equal(ScalarType.Float32, model.Forward(Ids()).dtype);             // logits
        }
        Assert.Equal(ScalarType.Float32, mlp.forward(x).dtype); // no scope: plain fp32
    }
}
