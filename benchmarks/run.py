#!/usr/bin/env python3
"""Speed and size figures of the toolchain, measured against the bare engines and against itself.

Not a test: it prints a table (measure, value, baseline, ratio, target, result) and writes
``benchmarks/results/<commit>-<timestamp>.json`` and ``benchmarks/results/latest.json``.
See ``benchmarks/README.md`` for what each figure means and how it is measured.

    .venv/bin/python benchmarks/run.py                    # everything (several minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --quick            # one repetition, no 4x/10x report, no profile
    .venv/bin/python benchmarks/run.py --only rebuild,preview

The measuring is ``harness.py``; what is measured, ``scenarios/``. Every measured step runs in its
own process; the repository is only read: builds go to a temporary directory, edits to a copy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import datetime, timezone

from harness import (KEPT_SHARES, RESULTS, RETRY_BUDGET, ROOT, SETTLE, TARGETS, Contention, Session, StepFailed,
                     commit_key, environment, median, print_table, progress, write_results)
from scenarios import cold_start, engines, large, preview, profile, rebuild, scale

#: In the order they run; "scale" and "cold-start" use the figures of "engines".
SCENARIOS = ("engines", "scale", "rebuild", "large", "preview", "cold-start", "profile")


def selected(args) -> set[str]:
    chosen = set(args.only) if args.only else set(SCENARIOS)
    if not args.only and args.quick:
        chosen -= {"scale", "large", "profile"}
    if not args.scale:
        chosen.discard("scale")
    if not args.large:
        chosen.discard("large")
    if not args.profile:
        chosen.discard("profile")
    if chosen & {"scale", "cold-start"}:
        chosen.add("engines")
    return chosen


def run(bench: Session) -> int:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    bench.data["commit"] = commit_key()
    started = time.perf_counter()
    bench.data["environment"] = environment()
    bench.data["contention"] = {}
    whole = Contention()
    if bench.data["environment"]["loadavg_1min"] > 0.5:
        progress(f"warning: load average {bench.data['environment']['loadavg_1min']:.2f}: figures will be noisy")
    failed = None
    try:
        chosen = selected(bench.args)
        if "engines" in chosen:
            prepared = engines.prepare(bench, bench.sample, "sample")
            bench.data["prepare"] = {e: {k: v for k, v in i.items() if k != "dir"} for e, i in prepared.items()}
            bench.data["pdf_step"] = engines.pdf_step(bench, prepared, "sample")
            engines.overhead_and_parallel(bench, prepared)
            engines.pdf_rows(bench, bench.data["pdf_step"])
        if "scale" in chosen:
            scale.scale(bench)
        if "rebuild" in chosen:
            rebuild.rebuild(bench)
        if "large" in chosen:
            large.large(bench)
        if "preview" in chosen:
            preview.preview(bench)
            preview.check(bench)
        if "cold-start" in chosen:
            cold_start.cold_start(bench)
        if "profile" in chosen:
            profile.profile(bench, stamp)
    except (StepFailed, OSError) as exc:
        failed = str(exc)
        progress(f"benchmark stopped: {exc}")
    except Exception:  # a bug of this script: still write what was measured
        import traceback

        failed = traceback.format_exc()
        progress(f"benchmark crashed:\n{failed}")
    finally:
        if not bench.args.keep:
            shutil.rmtree(bench.work, ignore_errors=True)
    bench.data["environment"]["loadavg_end"] = os.getloadavg()
    bench.data["contention"]["whole_run"] = whole.share()
    bench.data["settle"] = dict(SETTLE)
    bench.data["duration_s"] = time.perf_counter() - started
    bench.rows.sort(key=lambda r: r["section"])  # stable: measurement order within a section
    document = {"timestamp": stamp, "targets": TARGETS, "rows": bench.rows, "failed": failed, **bench.data}
    path = write_results(document, stamp)
    print_table(bench.rows)
    shares = [v for v in KEPT_SHARES if v is not None]
    bench.data["contention"]["measured_runs"] = {"count": len(shares), "median": median(shares),
                                                "max": max(shares) if shares else None}
    if shares:
        disturbed = sum(v > SETTLE["busy"] for v in shares)
        print(f"\nother processes used a median {median(shares):.0%}, at most {max(shares):.0%}, of the CPUs during the "
              f"{len(shares)} measured runs ({RETRY_BUDGET - SETTLE['retry_budget']} rerun)"
              + (f"; {disturbed} run(s) above {SETTLE['busy']:.0%}: their wall times are inflated, "
                 "rerun on an idle machine" if disturbed else ""))
    print(f"\n{sum(r['result'] == 'PASS' for r in bench.rows)} pass, {sum(r['result'] == 'FAIL' for r in bench.rows)} fail"
          f" · {bench.data['duration_s']:.0f} s · results: {path.relative_to(ROOT)}"
          + (f" · work dir kept: {bench.work}" if bench.args.keep else ""))
    if failed:
        print(f"benchmark incomplete: {failed}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each sample measurement (median)")
    parser.add_argument("--quick", action="store_true", help="one repetition; no 4x report, no profile")
    parser.add_argument("--scale", type=int, default=4, help="size factor of the generated report (0: skip)")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the pyinstrument profile")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    parser.add_argument("--live", action="store_true",
                        help="measure the working tree as it is at each step (default: a snapshot taken at the start)")
    parser.add_argument("--no-settle", dest="settle", action="store_false",
                        help="do not wait for a quiet moment before each measured step")
    parser.add_argument("--large", type=int, default=10, help="size factor of the large report, each edition alone (0: skip)")
    parser.add_argument("--only", type=lambda v: set(v.split(",")), default=None, metavar="SCENARIO[,...]",
                        help=f"run these scenarios only ({', '.join(SCENARIOS)}); scale and cold-start need engines")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        mode, *rest = args.worker  # build_tools comes from $PYTHONPATH (the snapshot) or the editable install
        {"prepare": engines.worker_prepare, "pdf": engines.worker_pdf, "profile": profile.worker_profile}[mode](*rest)
        return 0
    if args.quick:
        args.repeat = 1
    SETTLE["enabled"] = args.settle
    unknown = (args.only or set()) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))} (the scenarios: {', '.join(SCENARIOS)})")
    return run(Session(args))


if __name__ == "__main__":
    sys.exit(main())
