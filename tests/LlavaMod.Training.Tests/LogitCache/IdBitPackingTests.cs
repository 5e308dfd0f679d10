using System.Numerics;
using LlavaMod.Teacher.LogitCache;

namespace LlavaMod.Training.Tests.LogitCache;

public class IdBitPackingTests
{
    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(256, 8)]
    [InlineData(257, 9)]
    [InlineData(151_936, 18)]
    [InlineData(152_064, 18)]
    [InlineData(262_144, 18)]
    [InlineData(262_145, 19)]
    public void Bits_are_the_fewest_that_hold_vocab_minus_one(int vocab, int bits) =>
        Assert.Equal(bits, IdBitPacking.BitsFor(vocab));

    [Theory]
    [InlineData(151_936)]
    [InlineData(257)]
    [InlineData(2)]
    [InlineData(1_000_003)]
    public void Every_id_up_to_vocab_minus_one_round_trips_and_sits_at_its_bit_offset(int vocab)
    {
        int bits = IdBitPacking.BitsFor(vocab);
        var random = new Random(vocab);
        var ids = new[] { 0, 1, vocab - 1, vocab / 2, vocab - 2 }.Where(i => i >= 0 && i < vocab)
            .Concat(Enumerable.Range(0, 997).Select(_ => random.Next(vocab))).ToArray();
        byte[] packed = IdBitPacking.Pack(ids, bits);
        Assert.Equal((ids.Length * bits + 7) / 8, packed.Length);

        // Independent reading: the whole byte string as one little-endian integer.
        var whole = new BigInteger(packed, isUnsigned: true, isBigEndian: false);
        var mask = (BigInteger.One << bits) - 1;
        for (int j = 0; j < ids.Length; j++)
            Assert.Equal(ids[j], (int)((whole >> (j * bits)) & mask));

        var back = new int[ids.Length];
        IdBitPacking.Unpack(packed, bits, back);
        Assert.Equal(ids, back);
    }

    [Fact]
    public void Ids_that_do_not_fit_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => IdBitPacking.Pack([1 << 18], 18));
        Assert.Throws<ArgumentOutOfRangeException>(() => IdBitPacking.Pack([-1], 18));
    }
}
