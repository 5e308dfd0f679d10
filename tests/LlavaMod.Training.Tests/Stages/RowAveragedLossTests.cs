using LlavaMod.Models.Runtime;
using LlavaMod.Training.Stages;
using TorchSharp;

namespace LlavaMod.Training.Tests.Stages;

public class RowAveragedLossTests
{
    [Fact]
    public void Each_row_weighs_the_same_whatever_its_token_count()
    {
        TorchRuntime.EnsureLoaded();
        using var perToken = torch.tensor(new float[] { 1, 2, 3, 4 });
        // Row 0 has three tokens (mean 2), row 1 one token (4), row 2 none: (2 + 4) / 2 = 3, not the token mean 2.5.
        using var loss = SupervisedObjective.RowAveraged(perToken, [0, 0, 0, 1], rowCount: 3, torch.CPU);
        Assert.Equal(3f, loss.item<float>(), 5);
    }
}
