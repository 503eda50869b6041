#!/usr/bin/python3
"""Writes the native x86 build's output for the project's NAM files (models/native/lstm.nam,
wavenet.nam: random weights, so no upstream reference exists) over models/stream_mono.npy to
web/test/native/<name>.nam.native.npy, for the in-worklet engine's test (test/native.test.mjs).

    /usr/bin/python3 web/scripts/native-references.py [path/to/legato]   (default build/release)

It renders through the `legato` command-line tool (the native engine inline: zero latency, state
from the load and its pre-warm), so the reference is the native engine's own output, not a copy
of the web module's. Standard library only: .npy and 32-bit float WAV by hand.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEGATO = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/release/tools/legato/legato")


def read_npy(path):
    data = open(path, "rb").read()
    header_length = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + header_length].decode()
    assert "'<f4'" in header, f"{path}: not little-endian float32"
    body = data[10 + header_length:]
    return list(struct.unpack(f"<{len(body) // 4}f", body))


def write_npy(path, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, %d), }" % len(values)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack(f"<{len(values)}f", *values))


def write_wav(path, values, rate):
    body = struct.pack(f"<{len(values)}f", *values)
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(body)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body)


def read_wav(path):
    data = open(path, "rb").read()
    at = 12
    while at < len(data):
        chunk, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        if chunk == b"data":
            return list(struct.unpack(f"<{size // 4}f", data[at + 8:at + 8 + size]))
        at += 8 + size + (size & 1)
    raise ValueError(f"{path}: no data chunk")


def main():
    stream = read_npy(os.path.join(ROOT, "models/stream_mono.npy"))
    out_dir = os.path.join(ROOT, "web/test/native")
    with tempfile.TemporaryDirectory() as tmp:
        wav_in = os.path.join(tmp, "in.wav")
        write_wav(wav_in, stream, 48000)
        for name in ["lstm", "wavenet"]:
            tensor = {"shape": [1, 1, -1], "hop": 64}
            config = {"name": name, "engines": [{"engine": "native", "model": os.path.join(ROOT, f"models/native/{name}.nam")}],
                      "inputs": [dict(tensor, name="input")], "outputs": [dict(tensor, name="output")],
                      "stateful": True, "inline": "always"}
            config_path = os.path.join(tmp, f"{name}.json")
            json.dump(config, open(config_path, "w"))
            wav_out = os.path.join(tmp, f"{name}.wav")
            subprocess.run([LEGATO, "run", config_path, wav_in, wav_out, "--block", "128",
                            "--compensate-latency", "--no-progress", "--allow-rate-mismatch"], check=True)
            out = read_wav(wav_out)
            assert len(out) == len(stream), f"{name}: {len(out)} samples out for {len(stream)} in"
            write_npy(os.path.join(out_dir, f"{name}.nam.native.npy"), out)
            print(f"{name}.nam: {len(out)} samples, peak {max(abs(v) for v in out):.4f}")


main()
