using LlavaMod.Models.Runtime;
using TorchSharp;

namespace LlavaMod.Models.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void Torch_loads_and_computes_after_EnsureLoaded()
    {
        TorchRuntime.EnsureLoaded();
        using var a = ScalarOps.Arange(6, dtype: torch.float32).reshape(2, 3);
        using var product = torch.matmul(a, a.T);
        // [[0,1,2],[3,4,5]] · its transpose = [[5,14],[14,50]]
        Assert.Equal(new float[] { 5, 14, 14, 50 }, product.data<float>().ToArray());
    }

    [Fact]
    public void A_weight_gradient_over_many_rows_has_the_same_bits_at_one_and_two_threads()
    {
        // ∂W = gᵀ · x sums over the rows; MKL's Intel code path (taken on AMD too, see MklDispatch) splits that sum
        // across its threads for tall inputs, so SetThreads gives BLAS one thread and the bits stay the thread count's own.
        TorchRuntime.EnsureLoaded();
        int before = torch.get_num_threads();
        using var generator = new torch.Generator(7);
        using var g = torch.randn(8192, 96, generator: generator);
        using var x = torch.randn(8192, 256, generator: generator);
        float[] At(int threads)
        {
            TorchRuntime.SetThreads(threads);
            using var w = g.t().matmul(x); // (96, 256)
            return w.data<float>().ToArray();
        }
        try
        {
            Assert.Equal(At(1), At(2));
        }
        finally
        {
            TorchRuntime.SetThreads(before);
        }
    }

    [Fact]
    public void Bf16_matmul_and_autograd_work()
    {
        TorchRuntime.EnsureLoaded();
        using var w = torch.ones(4, 4, requires_grad: true);
        using var half = 0.5f.ToScalar();
        using var x = torch.full(2, 4, half).to(torch.bfloat16);
        using var y = torch.matmul(x, w.to(torch.bfloat16)).to(torch.float32).sum();
        y.backward();
        Assert.Equal(16f, y.item<float>());
        Assert.All(w.grad!.data<float>().ToArray(), g => Assert.Equal(1f, g));
    }

    [Fact]
    public void A_model_loaded_for_the_cpu_device_computes_there()
    {
        // What --device cpu does in every verb: resolve the name, load the weights onto that device. On a CUDA machine this
        // is the check that cpu is not overridden by the GPU; the CLI tests cover the error for cuda without a GPU.
        var device = TorchRuntime.ResolveDevice(DeviceRequest.Parse("cpu", "--device"));
        using var model = Generation.TinyModels.Qwen2(seed: 2);
        model.to(device);
        Assert.All(model.parameters(), p => Assert.Equal(DeviceType.CPU, p.device.type));
        using var ids = torch.tensor(new long[] { 1, 2, 3 }, device: device).unsqueeze(0);
        using var _ = torch.no_grad();
        using var logits = model.Forward(ids);
        Assert.Equal(DeviceType.CPU, logits.device.type);
    }

    [Fact]
    public void Device_names_parse_once_and_unknown_ones_are_a_clear_error()
    {
        Assert.Equal(new DeviceRequest(DeviceKind.Cuda, 1), DeviceRequest.Parse("cuda:1", "--device"));
        Assert.Equal(DeviceRequest.Cpu, DeviceRequest.Parse(" CPU ", "--device"));
        var error = Assert.Throws<LlavaMod.Core.LlavaModException>(() => DeviceRequest.Parse("tpu", "--device"));
        Assert.Equal("--device tpu: expected auto, cpu, cuda or cuda:N", error.Message);
        Assert.Throws<LlavaMod.Core.LlavaModException>(() => DeviceRequest.Parse("cuda:-1", "--device"));
    }
}
