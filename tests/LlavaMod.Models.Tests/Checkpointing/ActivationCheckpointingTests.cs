using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using LlavaMod.Models.Tests.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Checkpointing;

/// <summary>
/// Activation checkpointing (<see cref="Qwen2Model.ActivationCheckpointing"/>) against the same model without it: the
/// loss and every parameter's gradient agree (exactly in fp32: the recomputation repeats the same kernels on the same
/// inputs), the MoE auxiliary loss still trains the router, frozen parameters get nothing, and a few AdamW steps
/// follow the same loss curve.
/// </summary>
public class ActivationCheckpointingTests
{
    public ActivationCheckpointingTests() => TorchRuntime.EnsureLoaded();

    internal static readonly MoeConfig Moe = new() { CapacityFactor = 1.0, EvalCapacityFactor = 2.0, MinCapacity = 2 }; // drops tokens

    static (Tensor Ids, Tensor Mask) Batch()
    {
        var ids = randint(0, 61, [3, 10], generator: new Generator(11));
        var mask = ones(3, 10, dtype: ScalarType.Int64);
        mask[1, ..4].fill_(LongLivedScalars.IntZero); // a left-padded row
        return (ids, mask);
    }

    static Qwen2ForCausalLM Dense() => TinyModels.Qwen2(seed: 4);

    static Qwen2ForCausalLM Upcycled()
    {
        var model = TinyModels.Qwen2(seed: 4);
        MoeUpcycler.Upcycle(model, Moe, new Generator(3));
        return model;
    }

    /// <summary>Next-token cross-entropy plus <paramref name="auxWeight"/> × the MoE load-balancing losses (none when null).</summary>
    static Tensor Loss(Qwen2ForCausalLM model, Tensor ids, Tensor mask, double? auxWeight)
    {
        var logits = model.Forward(ids, mask);
        long v = logits.shape[2];
        var loss = nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, v), ids[.., 1..].reshape(-1));
        return auxWeight is not null && MoeModelRouting.TotalAuxLoss(model) is { } aux ? loss.Plus(aux.MulScalar(auxWeight.Value)) : loss;
    }

    internal sealed record Pass(float Loss, Dictionary<string, Tensor?> Gradients);

    internal static Pass Run(Qwen2ForCausalLM model, bool checkpointing, ComputePrecision precision = ComputePrecision.Fp32, double? auxWeight = 0.5)
    {
        var (ids, mask) = Batch();
        model.train();
        model.zero_grad();
        model.Model.ActivationCheckpointing = checkpointing;
        Tensor loss;
        using (Autocast.Enter(precision)) loss = Loss(model, ids, mask, auxWeight);
        loss.backward();
        var gradients = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad is { } g ? g.detach().clone() : null);
        return new Pass(loss.item<float>(), gradients);
    }

    internal static void AssertSameGradients(Pass plain, Pass checkpointed, double tolerance)
    {
        Assert.Equal(plain.Gradients.Keys, checkpointed.Gradients.Keys);
        foreach (var (name, expected) in plain.Gradients)
        {
            var actual = checkpointed.Gradients[name];
            if (expected is null) { Assert.True(actual is null, $"{name}: a gradient appeared with checkpointing"); continue; }
            Assert.True(actual is not null, $"{name}: no gradient with checkpointing");
            double difference = (actual! - expected).abs().max().item<float>();
            double scale = expected.abs().max().item<float>();
            Assert.True(difference <= tolerance * Math.Max(scale, 1e-6), $"{name}: gradients differ by {difference:E2} (largest {scale:E2})");
        }
    }

    [Fact]
    public void Dense_fp32_loss_and_every_gradient_equal_those_without_checkpointing()
    {
        var model = Dense();
        var plain = Run(model, checkpointing: false);
        var checkpointed = Run(model, checkpointing: true);
        Assert.Equal(plain.Loss, checkpointed.Loss);
        Assert.All(plain.Gradients.Values, g => Assert.NotNull(g));
        AssertSameGradients(plain, checkpointed, tolerance: 1e-6);
    }

    [Fact]
    public void Moe_fp32_loss_and_gradients_with_the_auxiliary_loss_equal_those_without_checkpointing()
    {
        var model = Upcycled();
        var plain = Run(model, checkpointing: false);
        var loads = MoeModelRouting.Loads(model);
        Assert.Contains(loads, l => l.Dropped.Sum() > 0); // capacity 1.0: routing decisions matter
        var checkpointed = Run(model, checkpointing: true);
        Assert.Equal(plain.Loss, checkpointed.Loss);
        AssertSameGradients(plain, checkpointed, tolerance: 1e-6);
        // the loads logged after a checkpointed forward are those of the forward
        Assert.Equal(loads.Select(l => l.Kept), MoeModelRouting.Loads(model).Select(l => l.Kept));
    }

    [Fact]
    public void Moe_gradients_equal_those_without_checkpointing_when_the_objective_leaves_the_auxiliary_loss_out()
    {
        var model = Upcycled();
        var plain = Run(model, checkpointing: false, auxWeight: null);
        var checkpointed = Run(model, checkpointing: true, auxWeight: null); // the aux output gets no gradient at all
        Assert.Equal(plain.Loss, checkpointed.Loss);
        AssertSameGradients(plain, checkpointed, tolerance: 1e-6);
    }

    [Fact]
    public void The_auxiliary_loss_alone_reaches_the_router_through_the_recomputation()
    {
        var model = Upcycled();
        var (ids, mask) = Batch();
        Dictionary<string, Tensor?> AuxGradients(bool checkpointing)
        {
            model.train();
            model.zero_grad();
            model.Model.ActivationCheckpointing = checkpointing;
            model.Forward(ids, mask);
            MoeModelRouting.TotalAuxLoss(model)!.backward();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad is { } g ? g.detach().clone() : null);
        }
        var plain = AuxGradients(false);
        var checkpointed = AuxGradients(true);
        var router = plain.Keys.First(k => k.EndsWith("gate.wg.weight"));
        Assert.True(plain[router]!.abs().max().item<float>() > 0, "the aux loss must train the router");
        AssertSameGradients(new Pass(0, plain), new Pass(0, checkpointed), tolerance: 1e-6);
    }

    [Fact]
    public void Bf16_mixed_precision_gradients_with_checkpointing_match_those_without()
    {
        var model = Upcycled();
        var plain = Run(model, checkpointing: false, ComputePrecision.Bf16);
        var checkpointed = Run(model, checkpointing: true, ComputePrecision.Bf16);
        var fp32 = Run(model, checkpointing: false, ComputePrecision.Fp32);
        Assert.NotEqual(fp32.Loss, plain.Loss); // bf16 really ran
        Assert.Equal(plain.Loss, checkpointed.Loss, 1e-5);
        AssertSameGradients(plain, checkpointed, tolerance: 1e-3);
    }

    [Fact]
    public void Frozen_parameters_get_no_gradient_and_layers_behind_a_frozen_embedding_still_train()
    {
        Pass Frozen(bool checkpointing)
        {
            var model = Upcycled();
            foreach (var (name, p) in model.named_parameters())
                if (name.StartsWith("model.embed_tokens") || name.StartsWith("model.layers.1.") || name.Contains("experts.deepspeed_experts.0."))
                    p.requires_grad = false;
            return Run(model, checkpointing);
        }
        var plain = Frozen(false);
        var checkpointed = Frozen(true);
        Assert.Null(checkpointed.Gradients["model.embed_tokens.weight"]);
        Assert.Null(checkpointed.Gradients["model.layers.1.self_attn.q_proj.weight"]);
        Assert.Null(checkpointed.Gradients["model.layers.0.mlp.deepspeed_moe.experts.deepspeed_experts.0.up_proj.weight"]);
        Assert.NotNull(checkpointed.Gradients["model.layers.0.self_attn.q_proj.weight"]); // its input needs no gradient
        AssertSameGradients(plain, checkpointed, tolerance: 1e-6);
    }

    [Fact]
    public void A_few_adamw_steps_follow_the_same_loss_curve()
    {
        float[] Curve(bool checkpointing)
        {
            var model = Upcycled();
            model.Model.ActivationCheckpointing = checkpointing;
            model.train();
            var (ids, mask) = Batch();
            using var optimizer = optim.AdamW(model.parameters(), lr: 3e-3);
            var losses = new float[5];
            for (int step = 0; step < losses.Length; step++)
            {
                using var scope = NewDisposeScope();
                var loss = Loss(model, ids, mask, auxWeight: 0.01);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                losses[step] = loss.item<float>();
            }
            return losses;
        }
        var plain = Curve(false);
        Assert.True(plain[^1] < plain[0], $"loss {plain[0]} → {plain[^1]}");
        Assert.Equal(plain, Curve(true));
    }
}
