using System.Buffers.Binary;
using LlavaMod.LogitCache;

namespace LlavaMod.Training.Tests.LogitCache;

public class IdBytePlanesTests
{
    [Theory]
    [InlineData(2, 1)]
    [InlineData(256, 1)]
    [InlineData(257, 2)]
    [InlineData(65_536, 2)]
    [InlineData(65_537, 3)]
    [InlineData(151_936, 3)]
    [InlineData(16_777_217, 4)]
    public void Planes_are_the_fewest_bytes_that_hold_vocab_minus_one(int vocab, int planes) =>
        Assert.Equal(planes, IdBytePlanes.PlanesFor(vocab));

    [Theory]
    [InlineData(151_936)]
    [InlineData(257)]
    [InlineData(2)]
    [InlineData(20_000_003)]
    public void Every_id_round_trips_and_plane_b_holds_byte_b_of_its_little_endian_form(int vocab)
    {
        int planes = IdBytePlanes.PlanesFor(vocab);
        var random = new Random(vocab);
        var ids = new[] { 0, 1, vocab - 1, vocab / 2 }.Concat(Enumerable.Range(0, 997).Select(_ => random.Next(vocab))).ToArray();
        byte[][] split = IdBytePlanes.Split(ids, planes);
        Assert.Equal(planes, split.Length);
        Span<byte> le = stackalloc byte[4];
        for (int j = 0; j < ids.Length; j++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(le, ids[j]);
            for (int b = 0; b < 4; b++)
                if (b < planes) Assert.Equal(le[b], split[b][j]);
                else Assert.Equal(0, le[b]); // nothing is dropped
        }
        var back = new int[ids.Length];
        IdBytePlanes.Join(split, back);
        Assert.Equal(ids, back);
    }

    [Fact]
    public void Ids_that_do_not_fit_and_planes_of_the_wrong_length_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => IdBytePlanes.Split([1 << 16], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => IdBytePlanes.Split([-1], 3));
        Assert.Throws<InvalidDataException>(() => IdBytePlanes.Join([new byte[3], new byte[2]], new int[3]));
    }
}
