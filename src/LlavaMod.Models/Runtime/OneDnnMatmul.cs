using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// fp32 matrix products on the CPU through oneDNN's 1×1 convolution kernel instead of libtorch's BLAS (MKL) sgemm.
/// On this project's benchmark machine (AMD EPYC, AVX-512) MKL's sgemm runs its AVX2 code at ~100 GFLOP/s per core
/// while oneDNN's AVX-512 kernel multiplies the same (R, K) · (K, M) product about twice as fast (docs/benchmarks.md,
/// "fp32 products through oneDNN"; PyTorch 1.13's <c>mkldnn_linear</c> shows the same gap against its BLAS).
/// libtorch has no switch for fp32 matmuls to use oneDNN, but its convolutions use it, and a 1×1 convolution over an
/// image of R × 1 pixels with K channels is exactly the product:
/// <list type="bullet">
/// <item>a (R, K) row-major is the channels-last image (1, K, R, 1) without a copy;</item>
/// <item>b (M, K) is the kernel (M, K, 1, 1), out channel m reading row m;</item>
/// <item>the channels-last output (1, M, R, 1) is the (R, M) product, row-major.</item>
/// </list>
/// <para>
/// The convolution is dilated along its width (a 1-wide kernel over a 1-wide image: the dilation changes nothing in
/// the arithmetic) because libtorch sends a 1×1, undilated convolution of one image to oneDNN only when it runs on more
/// than one thread (its <c>ConvParams::use_mkldnn</c>); dilated, it always goes to oneDNN, so the kernel, and the bits
/// of the result, are the same at any thread count. libtorch also keeps an image of at most 20,480 values
/// (<see cref="MinElements"/>) on its own kernel, so smaller products (a decoding step's few rows) stay on
/// <c>matmul</c>. Only the weight gradient of a Linear (a sum over R rows: <c>gᵀ · x</c>) stays on BLAS: as a
/// convolution it was slower (the rows become 2,000-odd input channels to reorder).
/// </para>
/// </summary>
public static class OneDnnMatmul
{
    /// <summary>libtorch's bound: a single image of at most this many values runs on its own convolution kernel.</summary>
    public const long MinElements = 20_480;

    static readonly bool OnX64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;
    static readonly long[] NoStride = [1, 1], NoPadding = [0, 0], WidthDilation = [1, 2];

    /// <summary>Whether a product with left operand <paramref name="rows"/> (R, K) goes through oneDNN: fp32, on an x64
    /// CPU, more than <see cref="MinElements"/> values.</summary>
    public static bool Applies(Tensor rows) =>
        rows.dim() == 2 && Applies(rows.shape[0], rows.shape[1], rows.dtype, rows.device_type);

    /// <summary>The same for a left operand of <paramref name="rows"/> × <paramref name="columns"/> values of
    /// <paramref name="dtype"/> on <paramref name="device"/>, before it exists.</summary>
    public static bool Applies(long rows, long columns, ScalarType dtype, DeviceType device) =>
        OnX64 && dtype == ScalarType.Float32 && device == DeviceType.CPU && rows * columns > MinElements;

    /// <summary>a · bᵀ for a (R, K) and b (M, K): (R, M). b may be any view (the kernel is reordered anyway).</summary>
    public static Tensor TimesTransposed(Tensor a, Tensor b) => Product(a, b, bIsTransposed: true);

    /// <summary>a · b for a (R, M) and b (M, K): (R, K). b may be any view.</summary>
    public static Tensor Times(Tensor a, Tensor b) => Product(a, b, bIsTransposed: false);

    /// <summary>
    /// The product, every temporary (views included) made inside this method's dispose scope: a view made by the
    /// caller outside any scope could be finalized by the GC while the native op reads it
    /// (<see cref="LongLivedScalars"/>).
    /// </summary>
    static Tensor Product(Tensor a, Tensor b, bool bIsTransposed)
    {
        using var scope = NewDisposeScope();
        if (!Applies(a)) return (bIsTransposed ? a.matmul(b.t()) : a.matmul(b)).MoveToOuterDisposeScope();
        long r = a.shape[0], k = a.shape[1];
        var kernel = bIsTransposed ? b.view(b.shape[0], b.shape[1], 1, 1) : b.t().view(b.shape[1], b.shape[0], 1, 1); // (M, K, 1, 1)
        var rows = a.is_contiguous() ? a : a.contiguous();                                   // (R, K)
        var image = rows.view(1, r, 1, k).permute(0, 3, 1, 2);                                // (1, K, R, 1) channels-last
        var output = nn.functional.conv2d(image, kernel, strides: NoStride, padding: NoPadding, dilation: WidthDilation); // (1, M, R, 1)
        var product = output.permute(0, 2, 3, 1).reshape(r, kernel.shape[0]);                // (R, M)
        GC.KeepAlive(a);
        GC.KeepAlive(b);
        return product.MoveToOuterDisposeScope();
    }
}
