#!/usr/bin/python3
"""Pillow peer of ImagePipelineBenchmarks: decode -> RGB -> shortest side 336 (bicubic) -> centre
crop 336x336 -> JPEG quality 95, on the JPEGs the C# benchmark writes (run it first, or
`dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --filter '*ImagePipeline*'`).
Pillow runs these steps on one thread. Usage: /usr/bin/python3 pillow_resize.py [DIR] [ITERATIONS]
DIR defaults to $LLAVAMOD_BENCH_IMAGES or {tempdir}/llavamod-bench-images.
"""
import io
import os
import statistics
import sys
import tempfile
import time

import PIL
from PIL import Image

SIZE = 336


def pipeline(data: bytes) -> int:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    # CLIP's processor: shortest side to SIZE (long side floored), then centre crop.
    new_w, new_h = (SIZE, int(SIZE * h / w)) if w <= h else (int(SIZE * w / h), SIZE)
    img = img.resize((new_w, new_h), Image.BICUBIC)
    left, top = (new_w - SIZE) // 2, (new_h - SIZE) // 2
    img = img.crop((left, top, left + SIZE, top + SIZE))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=95)
    return out.tell()


def main() -> None:
    default_dir = os.environ.get("LLAVAMOD_BENCH_IMAGES") or os.path.join(tempfile.gettempdir(), "llavamod-bench-images")
    folder = sys.argv[1] if len(sys.argv) > 1 else default_dir
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    names = ["photo-640x480.jpg", "photo-1024x768.jpg"]
    missing = [n for n in names if not os.path.exists(os.path.join(folder, n))]
    if missing:
        sys.exit(f"{folder}: missing {', '.join(missing)}; run the C# ImagePipelineBenchmarks once to write them")
    print(f"Pillow {PIL.__version__}, Python {sys.version.split()[0]}, {iterations} iterations after 20 warm-up")
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        for _ in range(20):
            pipeline(data)
        times, cpu_times = [], []
        for _ in range(iterations):
            start, cpu_start = time.perf_counter(), time.process_time()
            pipeline(data)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
        # CPU time (this process, all threads) is what to compare on a shared machine; wall time shows the neighbours too.
        print(f"{name}: CPU median {statistics.median(cpu_times) * 1e3:.2f} ms; wall median {statistics.median(times) * 1e3:.3f} ms, "
              f"mean {statistics.mean(times) * 1e3:.3f} ms, min {min(times) * 1e3:.3f} ms per image")


if __name__ == "__main__":
    main()
