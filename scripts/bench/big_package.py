#!/usr/bin/env python3
"""Write a large article package for the hostile-input memory bench.

    python3 scripts/bench/big_package.py OUT.zip [TOTAL_MB]

The sample article (tests/fixtures/articles/elife-00353-...zip: its XML,
PDF and TIFF figure) plus incompressible supplementary files (random
bytes, ~100 MB each) up to TOTAL_MB (default 400), all *stored* (no
compression), so the package's size is what pressbot must move. Written
in 1 MiB chunks: the script itself never holds a file in memory.
"""
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "tests", "fixtures", "articles",
                       "elife-00353-vor-v1-20121213000000.zip")


def main() -> None:
    out = sys.argv[1]
    total_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    chunk = 1 << 20
    with zipfile.ZipFile(FIXTURE) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        used = 0
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2012, 12, 13, 0, 0, 0)), data)
            used += len(data)
        i = 0
        while used < total_mb * chunk:
            i += 1
            size = min(100 * chunk, total_mb * chunk - used)
            info = zipfile.ZipInfo(f"elife-00353-supp{i}-v1.mp4", date_time=(2012, 12, 13, 0, 0, 0))
            with dst.open(info, "w", force_zip64=True) as f:
                left = size
                while left:
                    n = min(chunk, left)
                    f.write(os.urandom(n))
                    left -= n
            used += size
    print(f"{out}: {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
