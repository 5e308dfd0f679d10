using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Moe;

/// <summary>
/// Sparse upcycling (docs/method.md §2): a dense feed-forward block becomes an <see cref="MoeLayer"/>
/// whose E experts are exact copies of it, so the model computes the same function right after
/// upcycling (each kept token's renormalised weights sum to 1 over identical experts).
///
/// Router initialisation: LLaVA-MoD (llava_qwen2_moe.py, initialize_moe_modules) wraps the loaded
/// MLP in DeepSpeed's MoE after from_pretrained, so the router is DeepSpeed's
/// <c>torch.nn.Linear(d, E, bias=False).float()</c> with PyTorch's default initialisation,
/// kaiming_uniform(a=√5), i.e. U(−1/√d, 1/√d). MoE-LLaVA does the same. We draw that
/// distribution from an explicit generator so upcycling is reproducible.
/// </summary>
public static partial class MoeUpcycler
{
    /// <summary>
    /// An MoE layer whose experts are copies of <paramref name="dense"/>. <paramref name="createSameShape"/>
    /// builds an empty module with the dense block's parameter names and shapes; the dense weights are
    /// copied into it (dtype and device follow the dense block).
    /// </summary>
    public static MoeLayer FromDense(nn.Module<Tensor, Tensor> dense, long hiddenSize, MoeLayerOptions options,
        Func<nn.Module<Tensor, Tensor>> createSameShape, Generator? routerGenerator = null)
    {
        var reference = dense.parameters().First();
        var denseState = dense.state_dict();
        var layer = new MoeLayer(hiddenSize, options, _ =>
        {
            var copy = createSameShape();
            copy.to(reference.dtype).to(reference.device);
            copy.load_state_dict(denseState, strict: true);
            return copy;
        });
        layer.Router.to(reference.device);
        InitialiseRouter(layer, routerGenerator);
        layer.train(dense.training);
        return layer;
    }

    /// <summary>Fills the router with U(−1/√d, 1/√d) (PyTorch's nn.Linear default) from <paramref name="generator"/>.</summary>
    public static void InitialiseRouter(MoeLayer layer, Generator? generator)
    {
        var weight = layer.Router.weight!;
        double bound = 1.0 / Math.Sqrt(weight.shape[1]);
        using var _ = no_grad();
        var values = rand(weight.shape, dtype: ScalarType.Float32, generator: generator).MulScalar(2 * bound).SubScalar(bound);
        weight.copy_(values);
    }
}
