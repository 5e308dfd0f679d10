using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// Tensor ⊗ number arithmetic and integer ranges for values known only at run time (a temperature,
/// a count, a config weight), holding each per-call <see cref="Scalar"/> until the op returns; the
/// safe stand-ins for TorchSharp's number operators and implicit conversions (see
/// <see cref="LongLivedScalars"/>). Overloads keep the operand's C# type: integral values stay
/// integral (an int64 <c>arange</c>, integer tensors stay integer), floats stay the float value.
/// </summary>
public static class ScalarOps
{
    /// <summary><c>a + b</c> for two tensors, with a long-lived alpha: TorchSharp's <c>+</c> and <c>add(b)</c> pass a temporary Scalar 1.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, LongLivedScalars.IntOne);

    /// <summary><c>x * value</c>.</summary>
    public static Tensor MulScalar(this Tensor x, long value) { using var s = value.ToScalar(); return x.mul(s); }
    /// <inheritdoc cref="MulScalar(Tensor, long)"/>
    public static Tensor MulScalar(this Tensor x, float value) { using var s = value.ToScalar(); return x.mul(s); }
    /// <inheritdoc cref="MulScalar(Tensor, long)"/>
    public static Tensor MulScalar(this Tensor x, double value) { using var s = value.ToScalar(); return x.mul(s); }

    /// <summary><c>x / value</c> (true division, as the operator).</summary>
    public static Tensor DivScalar(this Tensor x, long value) { using var s = value.ToScalar(); return x.div(s); }
    /// <inheritdoc cref="DivScalar(Tensor, long)"/>
    public static Tensor DivScalar(this Tensor x, float value) { using var s = value.ToScalar(); return x.div(s); }
    /// <inheritdoc cref="DivScalar(Tensor, long)"/>
    public static Tensor DivScalar(this Tensor x, double value) { using var s = value.ToScalar(); return x.div(s); }

    /// <summary><c>x + value</c>.</summary>
    public static Tensor AddScalar(this Tensor x, long value) { using var s = value.ToScalar(); return x.add(s, LongLivedScalars.IntOne); }
    /// <inheritdoc cref="AddScalar(Tensor, long)"/>
    public static Tensor AddScalar(this Tensor x, double value) { using var s = value.ToScalar(); return x.add(s, LongLivedScalars.IntOne); }

    /// <summary><c>x - value</c>.</summary>
    public static Tensor SubScalar(this Tensor x, long value) { using var s = value.ToScalar(); return x.sub(s); }
    /// <inheritdoc cref="SubScalar(Tensor, long)"/>
    public static Tensor SubScalar(this Tensor x, double value) { using var s = value.ToScalar(); return x.sub(s); }

    /// <summary><c>x.clamp_min(value)</c>.</summary>
    public static Tensor ClampMinScalar(this Tensor x, long value) { using var s = value.ToScalar(); return x.clamp_min(s); }
    /// <inheritdoc cref="ClampMinScalar(Tensor, long)"/>
    public static Tensor ClampMinScalar(this Tensor x, double value) { using var s = value.ToScalar(); return x.clamp_min(s); }

    /// <summary><c>arange(stop)</c>: int64 0, 1, …, stop − 1 (or <paramref name="dtype"/>).</summary>
    public static Tensor Arange(long stop, ScalarType? dtype = null, Device? device = null)
    {
        using var end = stop.ToScalar();
        // the 3-argument overload: TorchSharp's shorter ones pass temporary 0 and 1 scalars themselves
        return arange(LongLivedScalars.IntZero, end, LongLivedScalars.IntOne, dtype: dtype, device: device);
    }

    /// <summary><c>arange(start, stop, step)</c> over integers: int64 unless <paramref name="dtype"/> says otherwise.</summary>
    public static Tensor Arange(long start, long stop, long step = 1, ScalarType? dtype = null, Device? device = null)
    {
        using var first = start.ToScalar();
        using var end = stop.ToScalar();
        using var stride = step.ToScalar();
        return arange(first, end, stride, dtype: dtype, device: device);
    }
}
