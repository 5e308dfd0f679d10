using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests;

public class EmbeddingLookupTests
{
    public EmbeddingLookupTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Values_and_accumulated_gradients_equal_autograds_with_repeated_ids()
    {
        var gen = new Generator(8);
        var table = randn([11, 4], generator: gen);
        var ids = tensor(new long[] { 3, 3, 0, 10, 3, 7 }).view(2, 3); // id 3 three times
        var upstream = randn([2, 3, 4], generator: gen);
        Tensor Grad(bool fused, out Tensor values)
        {
            var weight = table.detach().requires_grad_(true);
            values = null!;
            for (int step = 0; step < 2; step++) // the second backward adds to .grad
            {
                values = fused ? EmbeddingLookup.Apply(weight, ids) : weight.index_select(0, ids.reshape(-1)).view(2, 3, 4); // autograd's own backward
                (values * upstream).sum().backward();
            }
            return weight.grad!;
        }
        var expected = Grad(fused: false, out var plain);
        var actual = Grad(fused: true, out var looked);
        Assert.Equal(plain.detach().data<float>().ToArray(), looked.detach().data<float>().ToArray());
        var difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference < 1e-6, $"gradients differ by {difference}");
        Assert.Equal(0f, actual[5].abs().sum().item<float>()); // an id never looked up gets nothing
    }

    [Fact]
    public void A_frozen_table_records_no_graph()
    {
        var table = randn([5, 3]);
        var values = EmbeddingLookup.Apply(table, tensor(new long[] { 1, 4 }));
        Assert.False(values.requires_grad);
        Assert.Equal(table[4].data<float>().ToArray(), values[1].data<float>().ToArray());
    }
}
