using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// Scalars that live for the process. An implicit double → Scalar conversion at a call makes a
/// native scalar that the GC may free while the native op still reads it (a demo eval died in
/// masked_fill with c10's "toFloat" check on a garbage scalar tag); hot paths pass these instead,
/// or hold a per-call scalar in a <c>using</c> until the op returns.
/// </summary>
internal static class LongLivedScalars
{
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();
}
