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
    public void Auto_device_is_cpu_without_cuda_and_unknown_names_are_refused()
    {
        var device = TorchRuntime.ResolveDevice(DeviceRequest.Parse("auto", "--device"));
        Assert.Equal(torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, device.type);
        var error = Assert.Throws<LlavaMod.Core.LlavaModException>(() => DeviceRequest.Parse("tpu", "--device"));
        Assert.Contains("--device tpu: expected auto, cpu, cuda or cuda:N", error.Message);
        Assert.Equal(new DeviceRequest(DeviceKind.Cuda, 1), DeviceRequest.Parse("cuda:1", "--device"));
    }
}
