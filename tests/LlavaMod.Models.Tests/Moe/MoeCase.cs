using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Moe;

/// <summary>Fixed inputs and weights of one MoE layer, buildable in C# and serialisable for the Python reference.</summary>
public sealed class MoeCase
{
    public required Tensor X { get; init; }          // [N, d]
    public required Tensor Wg { get; init; }         // [E, d]
    public required Tensor GateProj { get; init; }   // [E, h, d]
    public required Tensor UpProj { get; init; }     // [E, h, d]
    public required Tensor DownProj { get; init; }   // [E, d, h]
    public Tensor? Cotangent { get; init; }          // [N, d]

    public int Experts => (int)Wg.shape[0];
    public long Dim => X.shape[1];
    public long Hidden => GateProj.shape[1];

    /// <summary>Random case from a seed: x ~ N(0,1), router ~ N(0, 0.5²), experts ~ N(0, 0.3²).</summary>
    public static MoeCase Random(long seed, int tokens, int experts, int d = 8, int hidden = 12, bool withCotangent = true)
    {
        var g = new Generator((ulong)seed);
        return new MoeCase
        {
            X = randn([tokens, d], generator: g),
            Wg = randn([experts, d], generator: g).MulScalar(0.5),
            GateProj = randn([experts, hidden, d], generator: g).MulScalar(0.3),
            UpProj = randn([experts, hidden, d], generator: g).MulScalar(0.3),
            DownProj = randn([experts, d, hidden], generator: g).MulScalar(0.3),
            Cotangent = withCotangent ? randn([tokens, d], generator: g) : null,
        };
    }

    public MoeLayer BuildLayer(MoeLayerOptions options)
    {
        var layer = new MoeLayer(Dim, options, _ => new TinySwiGlu(Dim, Hidden));
        using var _ = no_grad();
        layer.Router.weight!.copy_(Wg);
        for (int e = 0; e < Experts; e++)
        {
            var expert = (TinySwiGlu)layer.Expert(e);
            expert.GateProj.weight!.copy_(GateProj[e]);
            expert.UpProj.weight!.copy_(UpProj[e]);
            expert.DownProj.weight!.copy_(DownProj[e]);
        }
        return layer;
    }

    public Dictionary<string, object> ToReferenceInput(double capacityFactor, int minCapacity)
    {
        var input = new Dictionary<string, object>
        {
            ["x"] = Nested(X), ["wg"] = Nested(Wg), ["gate_proj"] = Nested(GateProj),
            ["up_proj"] = Nested(UpProj), ["down_proj"] = Nested(DownProj),
            ["capacity_factor"] = capacityFactor, ["min_capacity"] = minCapacity, ["top_k"] = 2,
        };
        if (Cotangent is not null) input["cotangent"] = Nested(Cotangent);
        return input;
    }

    /// <summary>Nested float arrays (row-major) for JSON.</summary>
    public static object Nested(Tensor t)
    {
        var values = t.contiguous().to(ScalarType.Float32).data<float>().ToArray();
        return Build(values, t.shape, 0, 0);

        static object Build(float[] v, long[] shape, int dim, long offset)
        {
            if (dim == shape.Length - 1) return v.Skip((int)offset).Take((int)shape[dim]).ToArray();
            long stride = shape.Skip(dim + 1).Aggregate(1L, (a, b) => a * b);
            return Enumerable.Range(0, (int)shape[dim]).Select(i => Build(v, shape, dim + 1, offset + i * stride)).ToArray();
        }
    }
}
