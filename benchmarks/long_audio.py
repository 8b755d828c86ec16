"""Long-audio benchmark: three ways to transcribe the same audio with the same weights.

    make bench                                   # or: .venv/bin/python benchmarks/long_audio.py
    .venv/bin/python benchmarks/long_audio.py --quick          # 3.4 s and 60 s only, 2 runs

Cases, each timed on 3.4 s, 60 s and 10 min of audio built from the VOiCES sample (repeated
with 1 s pauses):

* ``tutorial``: the first torchaudio tutorial's code: one ``model(waveform)`` call on the whole
  file, then its ``GreedyCTCDecoder`` (argmax, ``unique_consecutive``, a list comprehension
  dropping blanks, ``join``, ``"|"`` -> ``" "``);
* ``hf-pipeline``: transformers' ``pipeline("automatic-speech-recognition", ...,
  chunk_length_s=...)`` on the Hugging Face copy of the weights, called as its documentation
  shows: the same chunk length as ours and the pipeline's own default stride (chunk / 6 of
  context on each side; ``--hf-stride`` sets another);
* ``transcribe``: ``helpers.longform.transcribe`` (overlapping windows, batched, stitched).

Every case runs in its own process (so its peak memory is its own) under a memory cap
(``RLIMIT_DATA``, default 8 GB: an allocation beyond it fails inside the child, which reports
"out of memory"; the machine is never at risk) and a timeout. Each child loads its model,
warms up on 1 s of audio, then times up to ``--repeats`` runs (fewer when they would exceed
``--budget`` seconds). The three cases of one length run in ``--rounds`` interleaved rounds,
each in a fresh process, so a burst of load from elsewhere hits them alike; lengths whose runs
take over a minute get one round. The table gives the median of all runs and the largest
peak memory. A last child times the greedy decoders alone. Results go to
``benchmarks/results/`` (JSON and Markdown).

Weights: the real ones when they can be fetched (cache or ``WAV2VEC2_MIRROR``), otherwise the
offline stand-in weights (same architecture, random values: same timing, meaningless text).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CASES = ("tutorial", "hf-pipeline", "transcribe")
LENGTHS = (3.4, 60.0, 600.0)
CHUNK_SECONDS = 20.0  # transcribe's default window; the pipeline gets the same
OVERLAP_SECONDS = 3.0  # transcribe's default
PAUSE_SECONDS = 1.0
GB = 1e9


# =========================================================================== the child side


class GreedyCTCDecoder:
    """The torchaudio tutorial's decoder, as written there (a ``torch.nn.Module`` in the
    tutorial; the module machinery adds nothing to its cost)."""

    def __init__(self, labels, blank=0):
        self.labels = labels
        self.blank = blank

    def __call__(self, emission):
        import torch

        indices = torch.argmax(emission, dim=-1)  # [num_seq,]
        indices = torch.unique_consecutive(indices, dim=-1)
        indices = [i for i in indices if i != self.blank]
        return "".join([self.labels[i] for i in indices])


def _peak_rss_reset() -> bool:
    """Reset this process's peak RSS counter (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int | None:
    """This process's peak RSS in bytes since the last reset (VmHWM)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _runner(case: str, threads: int, hf_stride: float | None = None):
    """Load what ``case`` needs and return ``run(waveform) -> text``."""
    import torch

    torch.set_num_threads(threads)
    from helpers import longform, models

    if case == "tutorial":
        model = models.load_torchaudio_model(progress=False)
        decoder = GreedyCTCDecoder(labels=models.bundle().get_labels())

        def run(waveform):
            with torch.inference_mode():
                emission, _ = model(waveform)
            transcript = decoder(emission[0])
            return transcript.replace("|", " ")

    elif case == "hf-pipeline":
        from transformers import pipeline
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        model, processor = models.load_hf_model(progress=False)
        stride = {} if hf_stride is None else {"stride_length_s": hf_stride}
        asr = pipeline("automatic-speech-recognition", model=model,
                       tokenizer=processor.tokenizer, feature_extractor=processor.feature_extractor,
                       chunk_length_s=CHUNK_SECONDS, device="cpu", **stride)

        def run(waveform):
            return asr(waveform[0].numpy())["text"]

    elif case == "transcribe":
        model = models.load_torchaudio_model(progress=False)

        def run(waveform):
            return longform.transcribe(waveform, 16_000, model=model, threads=threads,
                                       chunk_seconds=CHUNK_SECONDS,
                                       overlap_seconds=OVERLAP_SECONDS, verbose=False).text
    else:
        raise ValueError(f"unknown case {case!r}")
    return run


def _is_oom(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or "can't allocate memory" in text or \
        "cannot allocate memory" in text or "out of memory" in text


def child_case(spec: dict) -> dict:
    """Run one case in this (child) process and return its measurements."""
    cap = int(spec["mem_cap_gb"] * GB)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))  # before torch allocates anything
    result = {"case": spec["case"], "seconds": spec["seconds"], "walls": []}
    try:
        t0 = time.perf_counter()
        run = _runner(spec["case"], spec["threads"], spec.get("hf_stride"))
        from helpers import assets, audio, longform

        sample, _ = audio.load_audio(assets.fetch("voices_sample", progress=False), verbose=False)
        waveform = longform.long_test_signal(sample, spec["seconds"], PAUSE_SECONDS)
        result["load_s"] = time.perf_counter() - t0
        run(waveform[:, :16_000])  # warm-up: thread pools, kernels, first-call costs
        import psutil

        result["rss_loaded"] = psutil.Process().memory_info().rss
        result["peak_reset"] = _peak_rss_reset()
        started = time.perf_counter()
        for _ in range(spec["repeats"]):
            t = time.perf_counter()
            text = run(waveform)
            result["walls"].append(time.perf_counter() - t)
            spent = time.perf_counter() - started
            if spent + result["walls"][-1] > spec["budget"]:
                break
        result.update(status="ok", text=" ".join(text.split()), peak_running=_peak_rss())
    except BaseException as exc:  # report everything; the parent decides what it means
        result.update(status="out of memory" if _is_oom(exc) else "error",
                      error=f"{type(exc).__name__}: {str(exc)[:300]}", peak_running=_peak_rss())
    return result


def child_decoders(spec: dict) -> dict:
    """Frames per second of the two greedy decoders on 10-minute emissions."""
    import torch

    torch.set_num_threads(spec["threads"])
    from helpers import decoding, models

    labels = models.bundle().get_labels()
    frames = 30_000  # 10 minutes of 20 ms frames
    g = torch.Generator().manual_seed(0)
    noisy = torch.randn(frames, len(labels), generator=g)
    # Speech-like: a blank most of the time, letters for 1-2 frames (what a trained model emits).
    speechy = torch.randn(frames, len(labels), generator=g) * 0.5
    path = torch.zeros(frames, dtype=torch.long)
    t = 0
    while t < frames:
        t += int(torch.randint(2, 5, (1,), generator=g))
        run = int(torch.randint(1, 3, (1,), generator=g))
        path[t:t + run] = int(torch.randint(1, len(labels), (1,), generator=g))
        t += run
    speechy[torch.arange(frames), path] += 5.0
    tutorial = GreedyCTCDecoder(labels)
    rows = []
    for name, emission in (("random logits", noisy), ("speech-like (mostly blank)", speechy)):
        ours_text = decoding.greedy_decode(emission, labels)
        theirs_text = " ".join(tutorial(emission).replace("|", " ").split())
        for decoder, fn in (("tutorial loop", lambda e: tutorial(e).replace("|", " ")),
                            ("helpers greedy_decode", lambda e: decoding.greedy_decode(e, labels))):
            times, spent = [], 0.0
            while len(times) < 5 or (spent < 1.0 and len(times) < 200):
                t0 = time.perf_counter()
                fn(emission)
                times.append(time.perf_counter() - t0)
                spent += times[-1]
            median = statistics.median(times)
            rows.append({"decoder": decoder, "emission": name, "frames": frames,
                         "runs": len(times), "median_s": median, "frames_per_s": frames / median,
                         "same_text": ours_text == theirs_text})
    return {"decoders": rows}


# =========================================================================== the parent side


def prepare_weights(mode: str) -> tuple[dict, bool]:
    """Fetch the model files; return the environment for the children and whether stand-in."""
    from helpers import assets, models

    if mode != "standin":
        try:
            for name in assets.NOTEBOOK_ASSETS:
                assets.fetch(name, progress=True)
            return dict(os.environ), models.weights_are_standin()
        except assets.AssetError as exc:
            if mode == "real":
                raise SystemExit(f"error: cannot fetch the model files: {exc}") from None
            print(f"The model files cannot be fetched here ({str(exc).splitlines()[0]}).\n"
                  "Timing with the offline stand-in weights instead (same architecture and "
                  "cost, random values).")
    from helpers.standin import build_mirror

    folder = build_mirror(ROOT / ".cache" / "standin-mirror")
    env = dict(os.environ, **{assets.MIRROR_ENV: str(folder),
                              assets.CACHE_ENV: str(ROOT / ".cache" / "bench" / "cache"),
                              "TORCH_HOME": str(ROOT / ".cache" / "bench" / "torch"),
                              "HF_HUB_OFFLINE": "1"})
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        for name in assets.NOTEBOOK_ASSETS:
            assets.fetch(name, progress=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return env, True


def run_child(spec: dict, env: dict, timeout: float) -> tuple[dict, int | None]:
    """Run ``spec`` in a fresh process; return its result and its peak RSS (from ``wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)],
                                stdout=out, stderr=err, cwd=ROOT, env=env)
        deadline = time.monotonic() + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()  # only this child, by its own pid
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, tell Popen
        peak = usage.ru_maxrss * 1024 if sys.platform.startswith("linux") else usage.ru_maxrss
        out.seek(0)
        err.seek(0)
        lines = [ln for ln in out.read().decode(errors="replace").splitlines()
                 if ln.startswith("RESULT ")]
        stderr = err.read().decode(errors="replace")
    if timed_out:
        return {**spec, "status": "timeout", "walls": []}, peak
    if lines:
        return json.loads(lines[-1][len("RESULT "):]), peak
    oom = "bad_alloc" in stderr or "Cannot allocate memory" in stderr or proc.returncode == -9
    tail = stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
    return {**spec, "status": "out of memory" if oom else "error", "walls": [],
            "error": tail[0][:300]}, peak


def merge(before: dict | None, new: dict) -> dict:
    """One case's rounds together: all runs, the largest peaks, the worst status."""
    if before is None:
        return new
    out = {**before, "walls": before["walls"] + new.get("walls", []),
           "rounds": before.get("rounds", 1) + 1}
    for key in ("peak_rss", "peak_running", "load_s"):
        values = [v for v in (before.get(key), new.get(key)) if v is not None]
        out[key] = max(values) if values else None
    if new["status"] != "ok":
        out.update(status=new["status"], error=new.get("error"))
    return out


def _fmt_len(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _gb(x) -> str:
    return f"{x / GB:.2f}" if x else "–"


def case_table(rows: list[dict]) -> str:
    lines = ["| audio | case | runs | wall time (s, median) | real-time factor | "
             "peak RSS, process (GB) | peak RSS while transcribing (GB) | model load (s) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["status"] == "ok":
            wall = statistics.median(r["walls"])
            cells = [str(len(r["walls"])), f"{wall:.2f}", f"{wall / r['seconds']:.3f}"]
        else:
            cells = [str(len(r.get("walls", []))), r["status"], "–"]
        lines.append("| " + " | ".join([_fmt_len(r["seconds"]), r["case"], *cells,
                                        _gb(r.get("peak_rss")), _gb(r.get("peak_running")),
                                        f"{r['load_s']:.1f}" if "load_s" in r else "–"]) + " |")
    return "\n".join(lines)


def decoder_table(rows: list[dict]) -> str:
    lines = ["| decoder | 10-min emission | runs | time per call (ms, median) | frames/s |",
             "|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['decoder']} | {r['emission']} | {r['runs']} | "
                     f"{r['median_s'] * 1e3:.2f} | {r['frames_per_s']:,.0f} |")
    return "\n".join(lines)


def target_lines(rows: list[dict], decoders: list[dict]) -> list[str]:
    """The issue's targets, each marked met or missed with the measured figure."""
    out = []
    by = {(r["case"], r["seconds"]): r for r in rows}
    median = {k: statistics.median(r["walls"]) for k, r in by.items() if r["status"] == "ok"}
    for seconds in sorted({r["seconds"] for r in rows}):
        ours = median.get(("transcribe", seconds))
        others = {c: median[(c, seconds)] for c in ("tutorial", "hf-pipeline")
                  if (c, seconds) in median}
        if ours is None or not others:
            out.append(f"- {_fmt_len(seconds)}: not comparable (a case did not finish)")
            continue
        best = min(others, key=others.get)
        ratio = others[best] / ours
        verdict = "tie within 2 %, counted as met" if abs(ratio - 1) <= 0.02 else \
            "met" if ratio > 1 else "MISSED"
        out.append(f"- {_fmt_len(seconds)}: transcribe {ours:.2f} s vs fastest other "
                   f"({best}) {others[best]:.2f} s: {verdict} ({ratio:.2f}× its speed)")
    ten = by.get(("transcribe", 600.0))
    if ten and ten["status"] == "ok":
        rtf = statistics.median(ten["walls"]) / 600
        out.append(f"- 10 min, transcribe: peak RSS {ten['peak_rss'] / GB:.2f} GB "
                   f"({'met' if ten['peak_rss'] <= 2 * GB else 'MISSED'}: ≤ 2 GB), real-time "
                   f"factor {rtf:.3f} ({'met' if rtf <= 0.3 else 'MISSED'}: ≤ 0.3)")
    for d in decoders:
        if d["decoder"].startswith("helpers"):
            ok = d["frames_per_s"] >= 1e6
            out.append(f"- greedy_decode, {d['emission']}: {d['frames_per_s']:,.0f} frames/s "
                       f"({'met' if ok else 'MISSED'}: ≥ 1,000,000)")
    return out


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, Python " \
           f"{platform.python_version()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="3.4 s and 60 s only, 2 rounds (for development, about 2 minutes)")
    parser.add_argument("--lengths", type=float, nargs="+", help="audio lengths in seconds")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--rounds", type=int,
                        help="interleaved rounds of processes per length (default 3; 2 with --quick)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="timed runs in each process (default 2)")
    parser.add_argument("--budget", type=float, default=240.0,
                        help="stop repeating a case after this many seconds of runs (default 240)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="kill a case's process after this many seconds (default 900)")
    parser.add_argument("--mem-cap-gb", type=float, default=8.0,
                        help="memory cap per case process, RLIMIT_DATA (default 8)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads in every case (default: the cores this process may use)")
    parser.add_argument("--hf-stride", type=float, default=None,
                        help="the pipeline's stride_length_s (default: its own, chunk / 6)")
    parser.add_argument("--weights", choices=("auto", "real", "standin"), default="auto",
                        help="auto: the real weights if they can be fetched, else the stand-ins")
    parser.add_argument("--no-decoders", action="store_true", help="skip the decoder timing")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        spec = json.loads(args.child)
        result = child_decoders(spec) if spec.get("case") == "decoders" else child_case(spec)
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    from helpers.longform import default_threads

    lengths = args.lengths or (LENGTHS[:2] if args.quick else LENGTHS)
    rounds = args.rounds or (2 if args.quick else 3)
    repeats = args.repeats
    threads = args.threads or default_threads()
    env, standin = prepare_weights(args.weights)
    header = [f"Machine: {machine()}; {threads} torch threads in every case.",
              f"Weights: {'STAND-IN (random values, real architecture)' if standin else 'real'}"
              f" — the same weights in every case. Audio: the VOiCES sample repeated with "
              f"{PAUSE_SECONDS:g} s pauses. Chunks: {CHUNK_SECONDS:g} s, overlap "
              f"{OVERLAP_SECONDS:g} s (pipeline: stride "
              + (f"{args.hf_stride:g} s" if args.hf_stride is not None else
                 f"{CHUNK_SECONDS / 6:.2f} s, its default,") + " per side).",
              f"Each case in its own process, memory cap {args.mem_cap_gb:g} GB (RLIMIT_DATA), "
              f"timeout {args.timeout:g} s; {rounds} interleaved rounds (1 for runs over a minute) of "
              f"a fresh process doing a 1 s warm-up and up to {repeats} timed runs (fewer past "
              f"{args.budget:g} s); medians over all runs, largest peaks.",
              f"Load average at start: {os.getloadavg()[0]:.2f}."]
    print("\n".join(header), flush=True)
    rows = []
    for seconds in lengths:
        merged = {case: None for case in args.cases}
        for rnd in range(rounds):
            order = args.cases[rnd % len(args.cases):] + args.cases[:rnd % len(args.cases)]
            for case in order:
                if merged[case] is not None and merged[case]["status"] != "ok":
                    continue  # out of memory or timed out once: no point in trying again
                spec = {"case": case, "seconds": seconds, "repeats": repeats,
                        "budget": args.budget, "mem_cap_gb": args.mem_cap_gb,
                        "threads": threads, "hf_stride": args.hf_stride}
                print(f"  round {rnd + 1}/{rounds}  {case:<12} {_fmt_len(seconds):>8} ...",
                      end=" ", flush=True)
                t = time.perf_counter()
                result, peak = run_child(spec, env, args.timeout)
                result["peak_rss"] = peak
                merged[case] = merge(merged[case], result)
                walls = result.get("walls") or []
                shown = f"median {statistics.median(walls):.2f} s over {len(walls)}" \
                    if result["status"] == "ok" else result["status"]
                print(f"{shown}  [{time.perf_counter() - t:.0f} s]"
                      + (f"  {result['error']}" if result.get("error") else ""), flush=True)
            slowest = max((w for r in merged.values() for w in r.get("walls", [])), default=0)
            if slowest > 60:
                break  # runs of over a minute: one round is all a few minutes allow
        rows.extend(merged.values())
    decoders = []
    if not args.no_decoders:
        print("  decoders ...", end=" ", flush=True)
        result, _ = run_child({"case": "decoders", "threads": threads}, env, args.timeout)
        decoders = result.get("decoders", [])
        print("done" if decoders else result.get("error", result["status"]), flush=True)
    texts = {(r["case"], r["seconds"]): r.get("text") for r in rows if r["status"] == "ok"}
    same = [f"{_fmt_len(s)}: {'same' if texts[('tutorial', s)] == texts[('transcribe', s)] else 'different'}"
            for s in lengths if ("tutorial", s) in texts and ("transcribe", s) in texts]
    header[-1] += (f" At the end: {os.getloadavg()[0]:.2f} (the benchmark itself adds about "
                   f"{threads}; much more means the CPU was shared and times are inflated).")
    report = "\n".join([
        "# Long-audio benchmark", "", *header, "", case_table(rows), "",
        *(["Transcript of transcribe vs the tutorial's whole-file call: " + ", ".join(same), ""]
          if same else []),
        *([decoder_table(decoders), ""] if decoders else []),
        "Targets:", *target_lines(rows, decoders), ""])
    print("\n" + report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"long_audio-{stamp}.md").write_text(report)
    (RESULTS / f"long_audio-{stamp}.json").write_text(json.dumps(
        {"header": header, "cases": rows, "decoders": decoders}, indent=1))
    print(f"Saved benchmarks/results/long_audio-{stamp}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
