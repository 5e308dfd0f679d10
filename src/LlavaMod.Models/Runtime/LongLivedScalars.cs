using TorchSharp;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// Scalars that live for the process, for constant operands of torch ops.
/// </summary>
/// <remarks>
/// The rule: never let TorchSharp make a temporary <see cref="Scalar"/>. In TorchSharp 0.107 an
/// implicit number → Scalar conversion (<c>x.masked_fill(m, 0)</c>, <c>x.clamp_min(1.0)</c>,
/// <c>arange(n)</c>) and every Tensor ⊗ number operator (<c>x * 1.702</c>, <c>x / n</c>,
/// <c>1 - x</c>, <c>x &gt; 0</c>) allocate a native scalar whose managed wrapper nothing keeps
/// alive once its handle is read, so a GC (our prefetch thread allocates a lot) may finalize it and
/// free the native scalar while the op still reads it: a random SIGABRT in c10 ("Unknown scalar
/// type", or "toFloat" on a garbage tag). Pass one of these constants instead, or hold a per-call
/// value with <c>using var s = value.ToScalar();</c> until the op returns (<see cref="ScalarOps"/>
/// does that for arithmetic and ranges), or use an equivalent tensor op (<c>neg</c>,
/// <c>reciprocal</c>) or a Tensor overload. Keep the C# type of the value: an
/// integral scalar keeps integer tensors and <c>arange</c> integral where a floating one would
/// promote them (int and long make the same c10 scalar), and a float literal such as 1.702f is a
/// different number from the double 1.702 (a float and a double of the same exact value, 0f and 0.0,
/// make the same c10 scalar).
/// The same holds for an implicit number → Tensor (<c>t[i, j] = -100</c>): <c>fill_</c> the view
/// with a held scalar instead. Microsoft.CodeAnalysis.BannedApiAnalyzers enforces both in every
/// project, tests and benchmarks included (Directory.Build.props, src/BannedSymbols.txt): a banned
/// conversion or operator fails the build with RS0030. It cannot see inside TorchSharp, so avoid
/// its conveniences that make such temporaries themselves: <c>square()</c> (<c>pow(2)</c>; use
/// <c>pow(IntTwo)</c>) and the one- and two-argument <c>arange</c> (use <c>ScalarOps.Arange</c>).
/// TorchSharp's own <c>optim.AdamW</c> step makes such temporaries for every parameter: the trainers use
/// <c>LlavaMod.Training.Optimization.AdamW</c>, the same update with its scalars held for the step.
/// Temporary tensors have the same hazard outside a dispose scope: in <c>a.index_copy(0, i, b.detach())</c> nothing
/// holds the detached wrapper once its handle is read. Inside a <c>NewDisposeScope</c> the scope holds every tensor
/// made in it; outside one (checkpoint saving was), hold the operand in a local until the op returns
/// (<c>CompactVocabulary.Expand</c>; the segfault was in libtorch's <c>index_copy</c>).
/// Constants here are never disposed; add one only for a value fixed at compile time.
/// </remarks>
public static class LongLivedScalars
{
    /// <summary>Integral 0 (like Python's literal <c>0</c>: keeps integer tensors integral).</summary>
    public static readonly Scalar IntZero = 0.ToScalar();

    /// <summary>Integral 1.</summary>
    public static readonly Scalar IntOne = 1.ToScalar();

    /// <summary>Integral 2 (the exponent of a square: TorchSharp's <c>square()</c> is <c>pow(2)</c> with a temporary scalar).</summary>
    public static readonly Scalar IntTwo = 2.ToScalar();

    /// <summary>Integral −1.</summary>
    public static readonly Scalar IntMinusOne = (-1).ToScalar();

    /// <summary>Floating 0.0.</summary>
    public static readonly Scalar DoubleZero = 0.0.ToScalar();

    /// <summary>Floating 1.0.</summary>
    public static readonly Scalar DoubleOne = 1.0.ToScalar();

    /// <summary>−∞ (double), the fill for masked-out logits.</summary>
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();

    /// <summary>1.702 (double), the factor of CLIP's quick_gelu: x·σ(1.702·x).</summary>
    public static readonly Scalar QuickGeluFactor = 1.702.ToScalar();

    /// <summary>float32 machine epsilon, <c>torch.finfo(torch.float32).eps</c> (as a double).</summary>
    public static readonly Scalar Float32Epsilon = torch.finfo(torch.ScalarType.Float32).eps.ToScalar();

    /// <summary>Smallest normal float32, <c>torch.finfo(torch.float32).tiny</c> (as a double).</summary>
    public static readonly Scalar Float32Tiny = torch.finfo(torch.ScalarType.Float32).tiny.ToScalar();

    /// <summary>1 − float32 epsilon (double arithmetic), the upper bound of a uniform draw torch.distributions uses.</summary>
    public static readonly Scalar OneMinusFloat32Epsilon = (1.0 - torch.finfo(torch.ScalarType.Float32).eps).ToScalar();

    /// <summary>255.0, the divisor that maps byte pixel values to [0, 1].</summary>
    public static readonly Scalar ByteMax = 255.0.ToScalar();
}
