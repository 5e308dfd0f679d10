using LlavaMod.Data.Images;
using LlavaMod.Data.Text;
using LlavaMod.Core;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;

namespace LlavaMod.Evaluation.Answering;

/// <summary>Settings of <c>llavamod eval answer</c> (each documented once here, with its default).</summary>
public sealed record AnswerOptions
{
    /// <summary>Model folder (LLaVA-MoD layout, dense or MoE).</summary>
    public required string Model { get; init; }
    /// <summary>Answer file to write (LLaVA's answer JSONL); an existing one is resumed.</summary>
    public required string Out { get; init; }
    /// <summary>LLaVA question JSONL; its images are read under <see cref="ImageRoot"/>.</summary>
    public string? Questions { get; init; }
    public string? ImageRoot { get; init; }
    /// <summary>Instead of a question file, a shard folder: each row's prompt is its own ids up to the first supervised token
    /// (exactly the training template), its image the stored bytes, its question_id the row id.</summary>
    public string? Data { get; init; }
    public ChatTemplateKind Template { get; init; } = ChatTemplateKind.Qwen;
    /// <summary>How question images are prepared, as the ETL prepared the training images (<c>shard --image-mode</c>):
    /// keep (then squashed to the tower's size by the CLIP processor), pad-square (LLaVA's expand2square), shortest-crop, keep-ratio-largest.</summary>
    public ResizeMode ImageMode { get; init; } = ResizeMode.Keep;
    /// <summary>Side for the resizing modes; 0 = the vision tower's image size.</summary>
    public int ImageSize { get; init; }
    public int BatchSize { get; init; } = 64;
    public int MaxNewTokens { get; init; } = 128;
    /// <summary>0 = greedy.</summary>
    public double Temperature { get; init; }
    public ulong Seed { get; init; }
    /// <summary>Device, torch threads and compute precision.</summary>
    public RuntimeOptions Runtime { get; init; } = RuntimeOptions.Default;
    /// <summary>This worker's share: the questions whose index mod the count is its index (one process: all of them).
    /// A split worker records its share beside its answers (<see cref="AnswerShare"/>) for 'llavamod merge'.</summary>
    public WorkerShare Share { get; init; } = WorkerShare.Single;
    /// <summary>Answer the questions whose image exists and skip the others (else a missing image stops the run before any answer).</summary>
    public bool SkipMissingImages { get; init; }
}

/// <summary>What an answering run did.</summary>
public sealed record AnswerReport(int Assigned, int Answered, int Resumed, IReadOnlyList<string> MissingImages, long ActiveLanguageParameters, double Seconds);
