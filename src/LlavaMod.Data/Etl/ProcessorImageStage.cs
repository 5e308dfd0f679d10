using LlavaMod.Data.Images;

namespace LlavaMod.Data.Etl;

/// <summary>The shard pipeline's image stage over <see cref="ImageProcessor"/> (checks, decoding, resizing, re-encoding).</summary>
public sealed class ProcessorImageStage : IImageStage
{
    readonly ImageProcessor _processor;

    public ProcessorImageStage(ImageProcessor processor) { _processor = processor; }

    public string SettingsFingerprint => _processor.SettingsFingerprint;

    public StoredImage Process(byte[] original, string sourceName)
    {
        var p = _processor.Process(original, sourceName);
        return new StoredImage(p.Bytes, p.Format, p.OriginalFormat, p.OriginalWidth, p.OriginalHeight, p.Width, p.Height, p.OriginalSha256);
    }
}
