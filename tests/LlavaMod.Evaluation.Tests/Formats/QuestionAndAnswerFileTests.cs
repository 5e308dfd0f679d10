using LlavaMod.Core;
using LlavaMod.Evaluation.Benchmarks;
using LlavaMod.Evaluation.Formats;

namespace LlavaMod.Evaluation.Tests.Formats;

public class QuestionAndAnswerFileTests : IDisposable
{
    readonly TestFolder _dir = new();
    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("""{"image":"a.jpg","text":"Q?"}""", "no \"question_id\"")]
    [InlineData("""{"question_id":2,"text":"Q?"}""", "no \"image\" (a string)")]
    [InlineData("""{"question_id":2,"image":"a.jpg"}""", "no \"text\" (a string)")]
    [InlineData("""{"question_id":1,"image":"a.jpg","text":"Q?"}""", "question_id 1 repeats line 1")]
    [InlineData("""{"question_id":2,"image":"a.jpg",""", "malformed JSON")]
    public void A_bad_question_line_is_an_error_naming_file_and_line(string line, string reason)
    {
        string path = _dir.WriteLines("q.jsonl", """{"question_id":1,"image":"a.jpg","text":"Q?"}""", line);
        var e = Assert.Throws<LlavaModException>(() => QuestionFile.Read(path));
        Assert.StartsWith($"{path}: line 2: {reason}", e.Message);
    }

    [Fact]
    public void Answers_must_match_the_questions_both_ways()
    {
        string questions = _dir.WriteLines("q.jsonl", """{"question_id":1,"image":"a.jpg","text":"Q?","label":"yes"}""", """{"question_id":2,"image":"b.jpg","text":"Q?","label":"no"}""");
        string stray = _dir.WriteLines("stray.jsonl", """{"question_id":1,"text":"Yes"}""", """{"question_id":3,"text":"No"}""");
        var e = Assert.Throws<LlavaModException>(() => new PopeBenchmark().Score(new BenchmarkInput(stray, AnswerFile.Read(stray), questions, QuestionFile.Read(questions))));
        Assert.Equal($"{stray}: line 2: question_id 3 is not in {questions}", e.Message);
        string partial = _dir.WriteLines("partial.jsonl", """{"question_id":1,"text":"Yes"}""");
        e = Assert.Throws<LlavaModException>(() => new PopeBenchmark().Score(new BenchmarkInput(partial, AnswerFile.Read(partial), questions, QuestionFile.Read(questions))));
        Assert.StartsWith($"{questions}: line 2: question_id 2 has no answer in {partial} (1 of 2 answered", e.Message);
    }

    [Fact]
    public void Answer_lines_keep_the_question_id_as_the_question_had_it()
    {
        var answer = new BenchmarkAnswer("7", System.Text.Json.Nodes.JsonValue.Create(7), "Is there a dog?", "Yes", "student", "x1");
        Assert.Equal("""{"question_id":7,"prompt":"Is there a dog?","text":"Yes","answer_id":"x1","model_id":"student","metadata":{}}""", answer.ToJsonLine());
        string path = _dir.WriteLines("a.jsonl", answer.ToJsonLine(), (answer with { QuestionId = "q8", IdValue = System.Text.Json.Nodes.JsonValue.Create("q8") }).ToJsonLine());
        Assert.Equal(["7", "q8"], AnswerFile.Read(path).Select(a => a.QuestionId));
    }

    [Fact]
    public void Resuming_cuts_a_torn_last_line_and_returns_the_answered_ids()
    {
        string path = _dir.File("a.jsonl");
        File.WriteAllText(path, """{"question_id":1,"text":"Yes"}""" + "\n" + """{"question_id":2,"te""");
        Assert.Equal(["1"], AnswerFile.ResumeIds(path));
        Assert.Equal("""{"question_id":1,"text":"Yes"}""" + "\n", File.ReadAllText(path));
    }
}
