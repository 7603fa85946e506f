#!/usr/bin/env python3
"""Decode speed with and without structured output (response_format), same server, same run.

Starts `tandem serve` on loopback with one sequence slot, then sends the same chat prompt greedily,
alternating the formats round by round, and reads each reply's `timings.predicted_per_second`
(decode tokens/s, from the first text to the end). Prints a Markdown section for
benchmarks/RESULTS.md with the median (and best) of each format, the load average before and after,
and whether every constrained reply validated.

  .venv/bin/python benchmarks/structured_output_bench.py --rounds 7 --max-tokens 160
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jsonschema
import requests

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "List some facts about the planets of the solar system."

FORMATS = {
    "text (no constraint)": None,
    "json_object": {"type": "json_object"},
    "json_schema: strings": {
        "type": "json_schema",
        "json_schema": {
            "name": "facts",
            "schema": {
                "type": "object",
                "properties": {
                    "facts": {"type": "array", "items": {"type": "string", "maxLength": 120}, "minItems": 4, "maxItems": 4}
                },
                "required": ["facts"],
                "additionalProperties": False,
            },
        },
    },
    "json_schema: mixed": {
        "type": "json_schema",
        "json_schema": {
            "name": "planets",
            "schema": {
                "type": "object",
                "properties": {
                    "planets": {
                        "type": "array",
                        "minItems": 3,
                        "maxItems": 3,
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"enum": ["Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune"]},
                                "moons": {"type": "integer", "minimum": 0, "maximum": 200},
                                "discovered": {"type": "string", "format": "date"},
                                "note": {"type": "string", "maxLength": 60},
                            },
                            "required": ["name", "moons", "discovered", "note"],
                        },
                    }
                },
                "required": ["planets"],
            },
        },
    },
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / "build/release/tools/tandem"))
    ap.add_argument("--model", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--max-tokens", type=int, default=160)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    port = free_port()
    config = {
        "network": {"bind_address": "127.0.0.1", "port": port},
        "model": {"path": args.model, "context_size": 1024, "max_batch_size": 1},
        "performance": {"threads": args.threads},
        "logging": {"level": "warn"},
    }
    tmp = tempfile.mkdtemp(prefix="structured-bench-")
    config_path = Path(tmp) / "tandem.json"
    config_path.write_text(json.dumps(config))
    log = open(Path(tmp) / "tandem.log", "wb")
    proc = subprocess.Popen([args.binary, "serve", "--config", str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                sys.exit(f"tandem serve exited with {proc.returncode}; see {log.name}")
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                sys.exit("tandem serve did not become ready")
            time.sleep(0.2)

        load_before = os.getloadavg()
        rates = {name: [] for name in FORMATS}
        tokens = {name: [] for name in FORMATS}
        invalid = {name: 0 for name in FORMATS}
        for round_index in range(args.rounds + 1):  # round 0 warms up (and builds the token trie once)
            names = list(FORMATS) if round_index % 2 == 0 else list(reversed(FORMATS))
            for name in names:
                body = {
                    "model": Path(args.model).stem,
                    "messages": [{"role": "user", "content": PROMPT}],
                    "max_tokens": args.max_tokens,
                    "temperature": 0,
                }
                if FORMATS[name]:
                    body["response_format"] = FORMATS[name]
                r = requests.post(url + "/v1/chat/completions", json=body, timeout=300)
                r.raise_for_status()
                reply = r.json()
                if round_index == 0:
                    continue
                timings = reply["timings"]
                rates[name].append(timings["predicted_per_second"])
                tokens[name].append(timings["predicted_n"])
                fmt = FORMATS[name]
                if fmt and reply["choices"][0]["finish_reason"] == "stop":
                    try:
                        value = json.loads(reply["choices"][0]["message"]["content"])
                        if fmt["type"] == "json_schema":
                            jsonschema.validate(value, fmt["json_schema"]["schema"], format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
                    except (ValueError, jsonschema.ValidationError):
                        invalid[name] += 1
        load_after = os.getloadavg()
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    base = statistics.median(rates["text (no constraint)"])
    print(f"Command: `benchmarks/structured_output_bench.py --rounds {args.rounds} --max-tokens {args.max_tokens}`\n")
    print(
        f"`tandem serve`, one sequence slot, {args.threads} threads, greedy, the same chat prompt; formats alternate "
        f"round by round ({args.rounds} rounds after a warm-up round); load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after.\n"
    )
    print("| response_format | decode tok/s median | best | median vs text | tokens per reply (median) | invalid replies |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in FORMATS:
        median = statistics.median(rates[name])
        print(
            f"| {name} | {median:.1f} | {max(rates[name]):.1f} | {median / base * 100:.0f}% | "
            f"{statistics.median(tokens[name]):.0f} | {invalid[name]} |"
        )


if __name__ == "__main__":
    main()
