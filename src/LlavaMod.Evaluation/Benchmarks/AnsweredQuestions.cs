using LlavaMod.Core;
using LlavaMod.Evaluation.Formats;

namespace LlavaMod.Evaluation.Benchmarks;

/// <summary>Answers joined with their questions by question_id: every answer must name a question and every
/// question must be answered, else an error naming the file and line (a worker's partial file is merged first).</summary>
public static class AnsweredQuestions
{
    public static IReadOnlyList<(BenchmarkAnswer Answer, BenchmarkQuestion Question)> Join(BenchmarkInput input, string benchmark)
    {
        if (input.Questions is null || input.QuestionsPath is null)
            throw new LlavaModException($"--benchmark {benchmark} needs --questions (the question file the answers reply to)");
        var byId = input.Questions.ToDictionary(q => q.QuestionId);
        var answered = new HashSet<string>();
        var pairs = new List<(BenchmarkAnswer, BenchmarkQuestion)>();
        foreach (var a in input.Answers)
        {
            if (!byId.TryGetValue(a.QuestionId, out var q))
                throw LlavaModException.ForFile(input.AnswersPath, $"line {a.Line}: question_id {a.QuestionId} is not in {input.QuestionsPath}");
            answered.Add(a.QuestionId);
            pairs.Add((a, q));
        }
        var missing = input.Questions.FirstOrDefault(q => !answered.Contains(q.QuestionId));
        if (missing is not null)
            throw LlavaModException.ForFile(input.QuestionsPath,
                $"line {missing.Line}: question_id {missing.QuestionId} has no answer in {input.AnswersPath} ({answered.Count} of {input.Questions.Count} answered; merge the workers' answer files first)");
        return pairs;
    }
}
