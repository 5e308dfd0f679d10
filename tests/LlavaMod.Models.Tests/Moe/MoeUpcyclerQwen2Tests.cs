using System.Text.Json;
using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using LlavaMod.Models.Tests.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Moe;

public class MoeUpcyclerQwen2Tests
{
    public MoeUpcyclerQwen2Tests() => TorchRuntime.EnsureLoaded();

    static readonly MoeConfig Settings = new() { CapacityFactor = 1.5, EvalCapacityFactor = 2.0, MinCapacity = 4 };

    static (Tensor Ids, Tensor Mask) Batch()
    {
        var ids = randint(0, 61, [2, 9], generator: new Generator(9));
        var mask = ones(2, 9, dtype: ScalarType.Int64);
        mask[1, ..3].fill_(LongLivedScalars.IntZero); // row 1 is left-padded
        return (ids, mask);
    }

    [Fact]
    public void Upcycled_model_gives_the_dense_logits_in_eval_mode()
    {
        var model = TinyModels.Qwen2();
        model.eval();
        var (ids, mask) = Batch();
        using var _ = no_grad();
        var dense = model.Forward(ids, mask);

        var config = MoeUpcycler.Upcycle(model, Settings, new Generator(3));
        model.eval();
        var moe = MoeUpcycler.MoeLayers(model);
        Assert.Equal(2, moe.Count); // layers 0 and 2 of 4
        Assert.Equal([0, 2], config.Moe!.LayerIndices(4));
        Assert.IsType<MoeLayer>(model.Model.Layers[0].FeedForward);
        Assert.IsType<Qwen2Mlp>(model.Model.Layers[1].FeedForward);

        // Eval capacity ceil(N/4 · 2 · 2) = N: no expert can overflow, so every token keeps both
        // experts, whose renormalised weights sum to 1 over identical copies of the dense MLP.
        var upcycled = model.Forward(ids, mask);
        Assert.All(moe, m => Assert.Equal(0, m.LastRouting!.DroppedCounts.Sum()));
        Assert.True(upcycled.allclose(dense, rtol: 1e-5, atol: 1e-5), $"max diff {(upcycled - dense).abs().max().item<float>()}");
        Assert.Contains("model.layers.0.mlp.deepspeed_moe.gate.wg.weight", model.state_dict().Keys);
        Assert.Contains("model.layers.2.mlp.deepspeed_moe.experts.deepspeed_experts.3.down_proj.weight", model.state_dict().Keys);
        Assert.DoesNotContain("model.layers.0.mlp.gate_proj.weight", model.state_dict().Keys);
    }

    [Fact]
    public void Upcycling_twice_is_refused()
    {
        var model = TinyModels.Qwen2();
        MoeUpcycler.Upcycle(model, Settings);
        Assert.Throws<LlavaMod.Core.LlavaModException>(() => MoeUpcycler.Upcycle(model, Settings));
    }

    [Fact]
    public void Upcycled_llava_checkpoint_saves_and_loads_with_LlavaMoD_names()
    {
        var model = TinyModels.Llava();
        MoeUpcycler.Upcycle(model, Settings with { Layers = MoeConfig.LayerList([1, 3]) }, new Generator(4));
        // Training moves the router away from its initial values; the loaded model must keep them.
        using (no_grad())
        using (var shift = 0.5.ToScalar())
            ((MoeLayer)model.LanguageModel.Model.Layers[3].FeedForward).Router.weight!.add_(shift, LongLivedScalars.IntOne);
        string folder = Directory.CreateTempSubdirectory("llavamod-moe-ckpt-").FullName;
        try
        {
            Checkpoint.Save(model, folder);
            using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json")));
            var moe = config.RootElement.GetProperty("moe");
            Assert.Equal([4, 4], moe.GetProperty("num_experts").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal([1, 3], moe.GetProperty("moe_layers_idx").EnumerateArray().Select(e => e.GetInt32()));

            var loaded = Checkpoint.Load(folder);
            Assert.IsType<MoeLayer>(loaded.LanguageModel.Model.Layers[1].FeedForward);
            Assert.IsType<Qwen2Mlp>(loaded.LanguageModel.Model.Layers[0].FeedForward);
            var expected = model.state_dict();
            foreach (var (name, tensor) in loaded.state_dict())
                Assert.True(tensor.eq(expected[name]).all().item<bool>(), name);
            Assert.Equal(expected.Count, loaded.state_dict().Count);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }
}

public class MoeModelRoutingTests
{
    public MoeModelRoutingTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Total_aux_loss_sums_the_layers_and_trains_the_routers()
    {
        var model = TinyModels.Qwen2();
        Assert.Null(MoeModelRouting.TotalAuxLoss(model));
        MoeUpcycler.Upcycle(model, new MoeConfig { CapacityFactor = 1.0, MinCapacity = 0 }, new Generator(8));
        model.train();
        var ids = randint(0, 61, [3, 10], generator: new Generator(1));
        model.Forward(ids).Dispose();
        var loads = MoeModelRouting.Loads(model);
        Assert.Equal([0, 2], loads.Select(l => l.Layer));
        Assert.All(loads, l => Assert.Equal(30, l.Tokens));
        Assert.All(loads, l => Assert.Equal(30, l.FirstChoice.Sum()));
        Assert.All(loads, l => Assert.Equal(15, l.Capacity)); // ceil(30/4 · 1 · 2)
        var total = MoeModelRouting.TotalAuxLoss(model)!;
        Assert.Equal(loads.Sum(l => l.AuxLoss), total.item<float>(), 5);
        total.backward();
        foreach (var (_, moe) in MoeModelRouting.Layers(model))
            Assert.True(moe.Router.weight!.grad!.abs().sum().item<float>() > 0);
    }
}
