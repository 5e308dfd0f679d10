using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Runtime;

/// <summary>
/// fp32 products through oneDNN's 1×1 convolution (<see cref="OneDnnMatmul"/>) and the Linear built on them
/// (<see cref="OneDnnLinear"/>, every fp32 Linear of the models): the products must be the fp64 product within fp32
/// rounding, whatever view the right operand is, and the Linear's values and gradients those of
/// <c>functional.linear</c>.
/// </summary>
public class OneDnnMatmulTests
{
    public OneDnnMatmulTests() => TorchRuntime.EnsureLoaded();

    /// <summary>max |actual − expected| ≤ 1e-5 × (1 + max |expected|), expected computed in fp64.</summary>
    static void CloseToFp64(Tensor actual, Tensor expected64, string what)
    {
        Assert.Equal(expected64.shape, actual.shape);
        Assert.Equal(ScalarType.Float32, actual.dtype);
        double error = actual.to(ScalarType.Float64).sub(expected64).abs().max().item<double>();
        double scale = 1 + expected64.abs().max().item<double>();
        Assert.True(error <= 1e-5 * scale, $"{what}: max error {error:G3} at scale {scale:G3}");
    }

    [Fact]
    public void Products_above_the_bound_are_the_fp64_product_for_any_view_of_the_right_operand()
    {
        var g = new Generator(3);
        var a = randn([300, 96], generator: g);          // 28,800 values > MinElements: oneDNN
        Assert.True(OneDnnMatmul.Applies(a));
        var wide = randn([130, 200], generator: g);
        var b = wide.narrow(1, 50, 96);                   // (130, 96), rows strided
        var bT = randn([96, 130], generator: g).t();      // (130, 96), a transposed view
        var (a64, b64, bT64) = (a.to(ScalarType.Float64), b.to(ScalarType.Float64), bT.to(ScalarType.Float64));
        CloseToFp64(OneDnnMatmul.TimesTransposed(a, b), a64.matmul(b64.t()), "a · bᵀ, b a column slice");
        CloseToFp64(OneDnnMatmul.TimesTransposed(a, bT), a64.matmul(bT64.t()), "a · bᵀ, b transposed");
        CloseToFp64(OneDnnMatmul.TimesTransposed(a, b.contiguous()), a64.matmul(b64.t()), "a · bᵀ, b contiguous");

        var c = randn([300, 130], generator: g);          // 39,000 values
        CloseToFp64(OneDnnMatmul.Times(c, b), c.to(ScalarType.Float64).matmul(b64), "c · b, b a column slice");
        CloseToFp64(OneDnnMatmul.Times(c, bT), c.to(ScalarType.Float64).matmul(bT64), "c · b, b transposed");
        CloseToFp64(OneDnnMatmul.Times(c.t().contiguous().t(), b), c.to(ScalarType.Float64).matmul(b64), "c a transposed view · b");
    }

    [Fact]
    public void A_rows_product_does_not_depend_on_the_other_rows()
    {
        // what a batch's composition must not change: the logit cache and the samples are byte-identical whatever
        // rows share a row's batch, as long as its product goes through oneDNN
        var g = new Generator(6);
        var all = randn([1500, 128], generator: g);
        var w = randn([344, 128], generator: g);
        var gradients = randn([1500, 344], generator: g);
        var (full, fullT) = (OneDnnMatmul.TimesTransposed(all, w), OneDnnMatmul.Times(gradients, w));
        foreach (long rows in new long[] { 161, 300, 1000 })
        {
            Assert.True(OneDnnMatmul.TimesTransposed(all.narrow(0, 0, rows), w).eq(full.narrow(0, 0, rows)).all().item<bool>(), $"a · wᵀ: the first rows differ among {rows} rows");
            Assert.True(OneDnnMatmul.Times(gradients.narrow(0, 0, rows), w).eq(fullT.narrow(0, 0, rows)).all().item<bool>(), $"g · w: the first rows differ among {rows} rows");
        }
    }

    [Fact]
    public void Products_at_or_below_the_bound_and_bf16_products_are_matmul_bit_for_bit()
    {
        var g = new Generator(4);
        var a = randn([213, 96], generator: g);           // 20,448 values ≤ MinElements
        var b = randn([70, 96], generator: g);
        Assert.False(OneDnnMatmul.Applies(a));
        Assert.True(OneDnnMatmul.TimesTransposed(a, b).eq(a.matmul(b.t())).all().item<bool>());
        var a16 = randn([300, 96], generator: g).to(ScalarType.BFloat16);
        var b16 = b.to(ScalarType.BFloat16);
        Assert.False(OneDnnMatmul.Applies(a16));
        Assert.True(OneDnnMatmul.TimesTransposed(a16, b16).eq(a16.matmul(b16.t())).all().item<bool>());
    }

    [Theory]
    [InlineData(true, true, true)]
    [InlineData(false, true, true)]  // a frozen tower's input: no input gradient
    [InlineData(true, false, false)] // frozen weights, no bias: only the input gradient
    public void The_linear_has_functional_linears_values_and_gradients(bool inputGrad, bool weightGrad, bool withBias)
    {
        var g = new Generator(5);
        var x0 = randn([2, 150, 96], generator: g);       // 300 rows of 96
        var w0 = randn([130, 96], generator: g);
        var b0 = randn([130], generator: g);
        var direction = randn([2, 150, 130], generator: g);

        (Tensor Out, Tensor? X, Tensor? W, Tensor? B) Run(Func<Tensor, Tensor, Tensor?, Tensor> linear)
        {
            var x = x0.clone().requires_grad_(inputGrad);
            var w = w0.clone().requires_grad_(weightGrad);
            var b = withBias ? b0.clone().requires_grad_(weightGrad) : null;
            var output = linear(x, w, b);                 // (2, 150, 130)
            if (inputGrad || weightGrad) output.mul(direction).sum().backward();
            return (output.detach(), x.grad, w.grad, b?.grad);
        }

        var ours = Run((x, w, b) => OneDnnLinear.Apply(x, w, b));
        var reference = Run((x, w, b) => nn.functional.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64), b?.to(ScalarType.Float64)));
        CloseToFp64(ours.Out, reference.Out, "output");
        Assert.Equal(inputGrad, ours.X is not null);
        if (inputGrad) CloseToFp64(ours.X!, reference.X!.to(ScalarType.Float64), "input gradient");
        Assert.Equal(weightGrad, ours.W is not null);
        if (weightGrad) CloseToFp64(ours.W!, reference.W!.to(ScalarType.Float64), "weight gradient");
        if (withBias && weightGrad) CloseToFp64(ours.B!, reference.B!.to(ScalarType.Float64), "bias gradient");
    }
}
