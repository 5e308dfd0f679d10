namespace LlavaMod.Training.Data;

/// <summary>A deterministic stream of batches the training loop consumes, resumable at any position.</summary>
public interface ITrainingBatches
{
    int BatchesPerEpoch(int epoch);
    IEnumerable<(TrainingPosition Position, TrainingBatch Batch)> From(TrainingPosition start, int epochs);
}
