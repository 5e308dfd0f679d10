using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Rotary position embedding, rotate-half convention (HF Qwen2): frequencies
/// theta^(-2i/d), cos/sin computed in fp32 from explicit position ids, applied in the input dtype.
/// </summary>
public static class RotaryEmbedding
{
    /// <summary>cos and sin of shape [B, T, headDim] for position ids [B, T].</summary>
    public static (Tensor Cos, Tensor Sin) CosSin(Tensor positionIds, int headDim, double theta, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var exponent = ScalarOps.Arange(0, headDim, 2, dtype: ScalarType.Int64, device: positionIds.device).to(ScalarType.Float32).DivScalar(headDim);
        var invFreq = torch.pow(torch.tensor((float)theta, device: positionIds.device), exponent).reciprocal(); // 1 / θ^e
        var freqs = positionIds.to(ScalarType.Float32).unsqueeze(-1) * invFreq; // [B, T, d/2]
        var emb = torch.cat([freqs, freqs], dim: -1);
        var cos = emb.cos().to(dtype);
        var sin = emb.sin().to(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Applies rotation to x [..., heads, headDim] with cos/sin [..., headDim] of the same leading dims: (B, T, H, hd)
    /// with (B, T, hd), or the packed (N, H, hd) with (N, hd).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        var c = cos.unsqueeze(-2); // (..., 1, hd)
        var s = sin.unsqueeze(-2);
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = torch.cat([-x2, x1], dim: -1);
        return (x * c).Plus(rotated * s).MoveToOuterDisposeScope();
    }
}
