using LlavaMod.Teacher.Reference;

namespace LlavaMod.Training.Tests.Reference;

/// <summary>'pairs reference' renders the user turn itself: a prompt stored already rendered is never templated twice.</summary>
public class UserMessageTests
{
    [Theory]
    [InlineData("Describe the image.", true, "<image>\nDescribe the image.")]
    [InlineData("<image>\nDescribe the image.", true, "<image>\nDescribe the image.")]
    [InlineData("Count the dogs.", false, "Count the dogs.")]
    [InlineData("Answer questions about the image. USER: <image>\nDescribe the image. ASSISTANT:", true, "<image>\nDescribe the image.")]
    [InlineData("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nCount the dogs.<|im_end|>\n<|im_start|>assistant\n", false, "Count the dogs.")]
    public void The_user_turn_is_the_question_with_one_image_tag(string stored, bool hasImage, string expected) =>
        Assert.Equal(expected, ReferencePass.UserMessage(stored, hasImage));
}
