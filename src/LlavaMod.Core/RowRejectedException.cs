namespace LlavaMod.Core;

/// <summary>
/// One input row cannot be used. The ETL catches it, writes the row to the rejects file with
/// <see cref="ReasonCode"/> (a stable snake_case code such as "image_too_large", used in
/// statistics) and the human-readable message, and goes on with the next row.
/// </summary>
public sealed class RowRejectedException : LlavaModException
{
    public string ReasonCode { get; }

    public RowRejectedException(string reasonCode, string message, Exception? inner = null) : base(message, inner)
    {
        ReasonCode = reasonCode;
    }
}
