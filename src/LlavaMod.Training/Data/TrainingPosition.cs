namespace LlavaMod.Training.Data;

/// <summary>Where the trainer is in its data: the next batch to take is batch <see cref="Batch"/> of epoch <see cref="Epoch"/>.</summary>
public sealed record TrainingPosition(int Epoch, int Batch)
{
    public static readonly TrainingPosition Start = new(0, 0);
}
