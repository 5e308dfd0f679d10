using static TorchSharp.torch;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// Deterministic, learnable token batches shared with peers/qwen2_lm_bench.py: row g of the run starts at
/// (g·7919 + 13) mod m and follows x → (31x + 7) mod m (a bigram map over m = 5,000 ids the model can learn).
/// </summary>
public static class SyntheticTokens
{
    const long Modulus = 5000;

    /// <summary>Ids [batch, length] of the batch for training step <paramref name="step"/>.</summary>
    public static Tensor Batch(long step, int batch, int length)
    {
        var ids = new long[batch * length];
        for (int r = 0; r < batch; r++)
        {
            long g = step * batch + r;
            long x = (g * 7919 + 13) % Modulus;
            for (int j = 0; j < length; j++)
            {
                ids[r * length + j] = x;
                x = (x * 31 + 7) % Modulus;
            }
        }
        return tensor(ids).view(batch, length);
    }
}
