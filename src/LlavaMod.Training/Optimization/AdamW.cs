using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Optimization;

/// <summary>
/// TorchSharp's AdamW update, the same arithmetic bit for bit and the same state (checkpoints load either way), run
/// over each parameter in blocks of <see cref="BlockElements"/> values instead of op by op over whole tensors.
/// TorchSharp's step reads and writes every parameter, gradient and moment in full for each of its ~8 ops and makes two
/// parameter-sized temporaries (√v and √v / √(1 − β₂ᵗ)); at 200.7 M parameters that is ≈ 10 passes over 0.8 GB
/// tensors and two 622 MB temporaries for the embedding, freshly mapped each step (docs/benchmarks.md, "AdamW in
/// blocks"). Here all ops of a block run while its parameter, gradient, moments and a reused scratch block are in the
/// cache (5 × 1 MB), and the denominator is built in the scratch block. The element-wise ops are the same, with the
/// same scalars, so each value is computed exactly as TorchSharp computes it; the weight decay's multiply by 1 is
/// skipped when the decay is 0. Non-contiguous tensors take TorchSharp's whole-tensor ops. AMSGrad and maximize are
/// not supported (LLaVA-MoD uses neither).
/// <para>
/// The class is named AdamW because TorchSharp's optimizer files record the optimizer class's simple name and refuse
/// to load under another: with the same name and state, a checkpoint's optimizer.bin written by TorchSharp's AdamW
/// (earlier runs of this trainer) resumes here, and one written here loads into TorchSharp's.
/// </para>
/// </summary>
public sealed class AdamW : TorchSharp.Modules.AdamW
{
    /// <summary>Values per block: 256 Ki fp32 values, 1 MB per tensor.</summary>
    public const long BlockElements = 1L << 18;

    Tensor? _scratch;

    /// <summary>One group: every parameter with the same settings.</summary>
    public AdamW(IEnumerable<TorchSharp.Modules.Parameter> parameters, double lr, double beta1, double beta2, double eps = 1e-8, double weightDecay = 0)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad: false, maximize: false)
    {
    }

    public AdamW(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
        : base(groups, lr, beta1, beta2, eps, weightDecay, amsgrad: false, maximize: false)
    {
    }

    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        if (options.amsgrad == true || options.maximize == true) throw new NotSupportedException("this AdamW supports neither AMSGrad nor maximize");
        double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, eps = options.eps!.Value;
        double weightDecay = options.weight_decay!.Value, lr = options.LearningRate!.Value;
        foreach (var param in group.Parameters)
        {
            using var grad = param.grad; // a wrapper of its own, held until the ops that read it return
            var state = (State)_state[param.Handle];
            // No gradient: a parameter the backward did not reach (an MoE expert that got no tokens). Once it has had a
            // gradient it steps with a zero one, as when zero_grad zeroed every gradient (and as DeepSpeed's flat
            // gradient buffers do): its moments decay and the weight decay applies. Before its first gradient it waits.
            if (grad is null && state.step == 0) continue;
            state.step += 1;
            double biasCorrection1 = 1 - Math.Pow(beta1, state.step);
            double biasCorrection2 = 1 - Math.Pow(beta2, state.step);
            using var scalars = new UpdateScalars(1 - lr * weightDecay, beta1, 1 - beta1, beta2, 1 - beta2, Math.Sqrt(biasCorrection2), eps, -(lr / biasCorrection1));
            var tensors = new[] { param, grad, state.exp_avg, state.exp_avg_sq }.OfType<Tensor>().ToArray();
            if (tensors.All(t => t.is_contiguous()) && tensors.All(t => t.dtype == ScalarType.Float32))
            {
                long count = param.numel();
                using var p = param.view(-1);
                using var g = grad?.view(-1);
                using var m = state.exp_avg.view(-1);
                using var v = state.exp_avg_sq.view(-1);
                var scratch = Scratch(param);
                for (long start = 0; start < count; start += BlockElements)
                {
                    long length = Math.Min(BlockElements, count - start);
                    using var pb = p.narrow(0, start, length);
                    using var gb = g?.narrow(0, start, length);
                    using var mb = m.narrow(0, start, length);
                    using var vb = v.narrow(0, start, length);
                    using var denom = scratch.narrow(0, 0, length);
                    Update(pb, gb, mb, vb, denom, scalars, weightDecay != 0);
                }
            }
            else
            {
                using var denom = torch.empty_like(state.exp_avg_sq);
                Update(param, grad, state.exp_avg, state.exp_avg_sq, denom, scalars, weightDecay != 0);
            }
        }
    }, closure);

    /// <summary>TorchSharp's AdamW on one block: p ← p(1 − lr·λ); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
    /// p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε). A null g is a zero gradient (its terms add exact zeros).</summary>
    static void Update(Tensor p, Tensor? g, Tensor m, Tensor v, Tensor denom, UpdateScalars s, bool decays)
    {
        if (decays) p.mul_(s.Decay);
        m.mul_(s.Beta1);
        v.mul_(s.Beta2);
        if (g is not null)
        {
            m.add_(g, s.OneMinusBeta1);
            v.addcmul_(g, g, s.OneMinusBeta2);
        }
        denom.copy_(v).sqrt_().div_(s.SqrtBiasCorrection2).add_(s.Eps, LongLivedScalars.IntOne);
        p.addcdiv_(m, denom, s.NegativeStepSize);
    }

    /// <summary>
    /// Clears the gradients for the next step. A gradient that glibc's heap holds (up to
    /// <see cref="NativeHeap.MmapThreshold"/>) is dropped, as PyTorch's <c>zero_grad(set_to_none=True)</c> (its default
    /// since 2.0) drops every one; TorchSharp's own zero_grad zeroes them all. A dropped gradient's memory goes back to
    /// the heap, where the next forward's activations take it, instead of sitting beside them, and the next backward
    /// hands the parameter the tensor it computed (no zero fill, no addition, the same values). A larger gradient, which
    /// glibc maps for itself (a tied 151,936-row embedding's 622 MB), is zeroed in place instead: dropped, it would go
    /// back to the kernel and page-fault in again every step (twice the minor faults, ~5 % of the step), and it is
    /// needed at the backward's peak either way. (Under a user's own <c>MALLOC_MMAP_THRESHOLD_</c> the split stays at
    /// 32 MB: only the speed of the step depends on it, not its values.) At 200.7 M parameters in
    /// bf16 this takes the training peak from 3,832–3,856 to 3,734–3,748 MB and stops it creeping from step to step
    /// (docs/benchmarks.md, "Gradients dropped between steps"). A parameter the next backward does not reach is stepped
    /// with a zero gradient (see <see cref="step"/>), as it was when gradients were zeroed, so training is unchanged.
    /// </summary>
    public override void zero_grad()
    {
        foreach (var group in _parameter_groups)
            foreach (var param in group.Parameters)
            {
                using var grad = param.grad;
                if (grad is null) continue;
                if (grad.numel() * grad.element_size() >= NativeHeap.MmapThreshold) grad.zero_();
                else param.grad = null!;
            }
    }

    Tensor Scratch(Tensor like)
    {
        if (_scratch is null || _scratch.device != like.device)
        {
            _scratch?.Dispose();
            _scratch = torch.empty(BlockElements, dtype: ScalarType.Float32, device: like.device).DetachFromDisposeScope();
        }
        return _scratch;
    }

    protected override void Dispose(bool disposing)
    {
        _scratch?.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>The step's scalars, held until the step's ops return (see <see cref="LongLivedScalars"/>).</summary>
    sealed class UpdateScalars(double decay, double beta1, double oneMinusBeta1, double beta2, double oneMinusBeta2, double sqrtBiasCorrection2, double eps, double negativeStepSize) : IDisposable
    {
        public readonly Scalar Decay = decay.ToScalar(), Beta1 = beta1.ToScalar(), OneMinusBeta1 = oneMinusBeta1.ToScalar(),
            Beta2 = beta2.ToScalar(), OneMinusBeta2 = oneMinusBeta2.ToScalar(), SqrtBiasCorrection2 = sqrtBiasCorrection2.ToScalar(),
            Eps = eps.ToScalar(), NegativeStepSize = negativeStepSize.ToScalar();

        public void Dispose()
        {
            foreach (var s in new[] { Decay, Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, SqrtBiasCorrection2, Eps, NegativeStepSize }) s.Dispose();
        }
    }
}
