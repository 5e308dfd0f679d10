using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>Builds additive attention masks (0 where allowed, the dtype's minimum where not), as HF does.</summary>
public static class AttentionMasks
{
    /// <summary>
    /// Causal + padding mask of shape [B, 1, Tq, past+Tq]. Query i (absolute position past+i in the
    /// key sequence) sees keys j ≤ past+i whose <paramref name="keyPadding"/> entry is nonzero.
    /// Returns null when nothing needs masking (a single query over an unpadded cache).
    /// </summary>
    public static Tensor? CausalWithPadding(long batch, long queryLength, long pastLength, Tensor? keyPadding, ScalarType dtype, Device device)
    {
        long keyLength = pastLength + queryLength;
        if (keyPadding is not null && (keyPadding.shape.Length != 2 || keyPadding.shape[0] != batch || keyPadding.shape[1] != keyLength))
            throw new ArgumentException($"attention mask has shape [{string.Join(", ", keyPadding.shape)}], expected [{batch}, {keyLength}] (past {pastLength} + new {queryLength} positions)");
        if (queryLength == 1 && keyPadding is null) return null;
        using var scope = torch.NewDisposeScope();
        var q = ScalarOps.Arange(queryLength, device: device).unsqueeze(1).AddScalar(pastLength); // [Tq, 1]
        var k = ScalarOps.Arange(keyLength, device: device).unsqueeze(0);               // [1, Tk]
        var allowed = k.le(q).unsqueeze(0).unsqueeze(0);                              // [1, 1, Tq, Tk]
        if (keyPadding is not null)
            allowed = allowed.logical_and(keyPadding.to(device).ne(LongLivedScalars.IntZero).unsqueeze(1).unsqueeze(1)); // [B, 1, Tq, Tk]
        allowed = allowed.expand(batch, 1, queryLength, keyLength);
        using var fill = MinValue(dtype).ToScalar(); // held until the op returns (see LongLivedScalars)
        var mask = torch.zeros(allowed.shape, dtype: dtype, device: device)
            .masked_fill(allowed.logical_not(), fill);
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Whether a pass without a cache can use the attention kernel's own causal masking instead of a mask tensor: every
    /// row of <paramref name="keyPadding"/> (B, T) is its real positions followed by its padding (or there is none).
    /// A real query then sees only real keys under causal masking alone, and gets the same values as under
    /// <see cref="CausalWithPadding"/> (masked scores add exact zeros either way). A padding query sees padding keys too;
    /// its output is never read and gets no gradient. Left padding (batched generation) keeps the mask.
    /// </summary>
    public static bool CausalSuffices(Tensor? keyPadding)
    {
        if (keyPadding is null || keyPadding.shape[1] < 2) return true;
        using var scope = torch.NewDisposeScope();
        var real = keyPadding.ne(LongLivedScalars.IntZero); // (B, T)
        // right padding: no real position after a padding one, i.e. real[t + 1] ≤ real[t] along each row
        long t = real.shape[1];
        return real.narrow(1, 1, t - 1).le(real.narrow(1, 0, t - 1)).all().item<bool>();
    }

    public static double MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => float.MinValue,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float16 => -65504.0,
        ScalarType.Float64 => double.MinValue,
        _ => throw new ArgumentException($"attention masks need a floating dtype, got {dtype}"),
    };
}
