using LlavaMod.Models.Runtime;
using LlavaMod.Training.Losses;
using TorchSharp;

namespace LlavaMod.Training.Tests.Stages;

public class RowAveragedLossTests
{
    [Fact]
    public void Each_row_weighs_the_same_whatever_its_token_count()
    {
        TorchRuntime.EnsureLoaded();
        // Four positions over a vocabulary of 3; row 0 has three of them, row 1 one, row 2 none.
        using var logits = torch.tensor(new float[] { 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 1, 1 }).view(4, 3);
        using var targets = torch.tensor(new long[] { 0, 1, 2, 0 });
        using var perToken = torch.nn.functional.cross_entropy(logits, targets, reduction: torch.nn.Reduction.None);
        var p = perToken.data<float>().ToArray();
        double expected = ((p[0] + p[1] + p[2]) / 3 + p[3]) / 2; // rows weigh equally; the token mean would be Σp / 4
        using var loss = SupervisedCrossEntropy.RowAveraged(torch.nn.functional.log_softmax(logits, 1).gather(1, targets.unsqueeze(1)).squeeze(1), [0, 0, 0, 1], rowCount: 3);
        Assert.Equal(expected, loss.item<float>(), 5);
        Assert.NotEqual(p.Average(), loss.item<float>(), 3);
    }
}
