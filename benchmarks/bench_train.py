"""Time to grid: how fast the compact trainer makes grid units on this machine.

Trains one network with the CPU defaults (or the options given) and, after
each of the given amounts of *training* time (evaluation time excluded),
evaluates it: top-3 decoding error, best 60-degree score, fractions of
hidden units above 0.3 and 0.8, the fraction beating the null's 99th
percentile (the default ring null of :mod:`validate.nulls`), the median grid period
of units above 0.3 and the training speed. It also measures the machine's
matrix-multiply peak (a large float32 ``torch`` matmul, same threads, in a
child process) and reports the FLOP utilisation of training: counted
matrix-multiply FLOPs per step times steps per second, over that peak.

Run from the repository root; durations are configurable so it can run
short::

    python benchmarks/bench_train.py                 # 5, 10, 20, 40 minutes
    python benchmarks/bench_train.py --minutes 1 2   # a quick look
    python benchmarks/bench_train.py --hidden 512 --out /tmp/bench
    python benchmarks/bench_train.py --util 256 512 1024 2048  # no training
    python benchmarks/bench_train.py --maps /tmp/bench/checkpoint_20min.pt

``--util`` only times training steps (after a warm-up) for each number of
hidden units given and prints the FLOP utilisation of each: what a larger
network does to it. ``--maps CHECKPOINT`` evaluates a network saved by a
run with ``--out`` (same encoding options), writes its ``ratemaps.npz`` and
``scores.json`` beside it (or into ``--out``) and draws the rate maps and
autocorrelograms of the best units that beat the null, ``grid_units.png``.

Columns: ``util`` is the FLOP utilisation against the wall-clock peak,
``utilC`` the same per CPU second (robust to other processes sharing the
cores), ``load`` the 1-minute load average and ``cpu`` the CPU seconds the
process got per wall second (2.0 = both cores of a 2-core machine). Timings
on a shared machine depend on what else runs there.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulate.machine import choose_openmp_waiting  # noqa: E402 (no torch)


def _threads_option(argv: list[str]) -> int:
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--threads", type=int, default=2)
    return early.parse_known_args(argv)[0].threads


# How idle OpenMP threads wait is read when torch loads: spin on free cores,
# sleep on a busy machine, as the train command chooses (simulate.machine).
OPENMP_WAITING = choose_openmp_waiting(_threads_option(sys.argv[1:]))

import torch  # noqa: E402

from simulate.config import ModelConfig, TrainConfig  # noqa: E402
from simulate.trainer import Trainer, draw_run_cells  # noqa: E402
from theory.conventions import (  # noqa: E402
    grid_period_from_wavenumber,
    surround_width,
)
from theory.encodings import Encoding  # noqa: E402
from validate.evaluation import GridEvaluation  # noqa: E402

CM_PER_M = 100.0
SECONDS_PER_MINUTE = 60.0
#: Side of the square float32 matmul that measures the peak.
PEAK_SIZE = 2048
#: Seconds spent measuring the peak.
PEAK_SECONDS = 3.0


def matmul_peak(
    size: int = PEAK_SIZE, seconds: float = PEAK_SECONDS, threads: int | None = None
) -> tuple[float, float]:
    """Float32 matmul peak: GFLOP per wall second and per CPU second.

    Measured in a child process with the same number of threads: after a
    few seconds of large products, the training steps of the same process
    ran 6-10% slower for the rest of its life (measured at 512 units,
    whether the products allocated or not), so a peak taken in-process would
    lower the utilisation it is the denominator of.

    The rate per CPU second (all threads' time) is what the process achieves
    when it runs; it is robust to other processes sharing the cores, where
    the rate per wall second is not.
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_matmul_peak, (size, seconds, threads))


def _matmul_peak(size: int, seconds: float, threads: int | None):
    if threads is not None:
        torch.set_num_threads(threads)
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    a @ b  # warm-up
    flops = 2.0 * size**3
    count = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        a @ b
        count += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return flops * count / wall / 1e9, flops * count / cpu / 1e9


def dos_grid_period(width: float, surround_scale: float, convention: str) -> float:
    """Predicted hexagonal grid period (m) of DoS targets, dense-cell limit."""
    sigma_e = width
    sigma_i = float(surround_width(width, surround_scale, convention))
    wavenumber = math.sqrt(
        2 * math.log(sigma_i**2 / sigma_e**2) / (sigma_i**2 - sigma_e**2)
    )
    return float(grid_period_from_wavenumber(wavenumber))


def _load() -> str:
    with open("/proc/loadavg") as stream:
        return stream.read().split()[0]


def benchmark_encoding(args) -> Encoding:
    """The encoding named by the command-line options."""
    return Encoding(
        args.encoding,
        width=args.width,
        surround_scale=args.surround_scale,
        convention=args.convention,
        n_cells=args.place_cells,
    )


def utilisation_table(args, warmup: int = 10, seconds: float = 15.0) -> int:
    """Steady-state steps per second and FLOP utilisation per hidden size."""
    torch.set_num_threads(args.threads)
    encoding = benchmark_encoding(args)
    peak, _ = matmul_peak(args.peak_size, threads=args.threads)
    print(
        f"FLOP utilisation by hidden units: {args.encoding}, batch "
        f"{args.batch_size} x {args.sequence_length}, {args.threads} threads, "
        f"compile {'on' if args.compile else 'off'}, OpenMP waiting "
        f"{OPENMP_WAITING}, matmul peak {peak:.0f} GFLOP/s; {warmup} warm-up "
        f"steps, then {seconds:g} s of steps"
    )
    print(f"{'hidden':>7} {'GFLOP/step':>10} {'steps/s':>8} {'GFLOP/s':>8} {'util':>5}")
    for hidden in args.util:
        config = TrainConfig(
            steps=10**9,
            batch_size=args.batch_size,
            sequence_length=args.sequence_length,
            learning_rate=args.lr,
            seed=args.seed,
            threads=args.threads,
            device=args.device,
            compile=args.compile,
        )
        model = ModelConfig(hidden=hidden, outputs=encoding.n_outputs, cell=args.rnn)
        trainer = Trainer(encoding, draw_run_cells(encoding, args.seed), model, config)
        for _ in range(warmup):
            trainer.train_step()
        steps, started = 0, trainer.train_seconds
        while trainer.train_seconds - started < seconds:
            trainer.train_step()
            steps += 1
        rate = steps / (trainer.train_seconds - started)
        flops = trainer.flops_per_step()
        print(
            f"{hidden:>7d} {flops / 1e9:>10.2f} {rate:>8.2f} "
            f"{flops * rate / 1e9:>8.0f} {flops * rate / (peak * 1e9):>5.0%}",
            flush=True,
        )
    return 0


def show_maps(args, limit: int = 8) -> int:
    """Evaluate a saved network; draw the best units that beat the null."""
    import numpy as np

    from simulate.trainer import read_checkpoint
    from validate.plotting import maps_and_autocorrelograms

    torch.set_num_threads(args.threads)
    state = read_checkpoint(args.maps)
    out = Path(args.out) if args.out else Path(args.maps).parent
    out.mkdir(parents=True, exist_ok=True)
    encoding = benchmark_encoding(args)
    model = ModelConfig(**state["model_config"])
    config = TrainConfig(**state["train_config"])
    cells = draw_run_cells(encoding, config.seed)
    trainer = Trainer(encoding, cells, model, config, run_dir=out)
    trainer.load_checkpoint(args.maps)
    evaluation = GridEvaluation(
        walks=args.eval_walks, null_samples=args.null_samples, write=True
    )
    summary = trainer.evaluate(evaluation, final=True)
    units = json.loads((out / "scores.json").read_text())["units"]
    with np.load(out / "ratemaps.npz") as data:
        maps = data["ratemaps"]
    beating = np.array([bool(unit.get("beats_null")) for unit in units])
    # Dead units have no score (null in the JSON).
    score = np.array(
        [np.nan if u["score_60"] is None else u["score_60"] for u in units]
    )
    shown = np.where(beating, score, np.nan)
    figure = out / "grid_units.png"
    maps_and_autocorrelograms(
        figure,
        maps,
        {"score_60": shown},
        box_width=encoding.box_width,
        box_height=encoding.box_height_m,
        title=f"{Path(args.maps).name}: step {trainer.step}, units beating the "
        f"{evaluation.null} null (p <= 0.01), best {min(limit, beating.sum())} "
        f"of {beating.sum()}",
        limit=max(1, min(limit, int(beating.sum()))),
    )
    print(
        f"step {trainer.step}: decoding "
        f"{summary['decoding_error'] * CM_PER_M:.1f} cm, "
        f"{beating.sum()}/{beating.size} units beat the {evaluation.null} null; "
        f"figure {figure}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    defaults = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, nargs="+", default=[5, 10, 20, 40])
    p.add_argument("--encoding", default="dos")
    p.add_argument("--width", type=float, default=0.12)
    p.add_argument("--surround-scale", type=float, default=2.0)
    p.add_argument("--convention", default="paper")
    p.add_argument("--place-cells", type=int, default=512)
    p.add_argument("--hidden", type=int, default=ModelConfig().hidden)
    p.add_argument("--rnn", default="rnn")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--sequence-length", type=int, default=defaults.sequence_length)
    p.add_argument("--lr", type=float, default=defaults.learning_rate)
    p.add_argument("--lr-half-life", type=float, default=defaults.lr_half_life)
    p.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    p.add_argument(
        "--weight-decay-start", type=int, default=defaults.weight_decay_start
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--compile", action="store_true", default=defaults.compile)
    p.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument("--eval-walks", type=int, default=GridEvaluation().walks)
    p.add_argument("--null-samples", type=int, default=100)
    p.add_argument("--peak-size", type=int, default=PEAK_SIZE)
    p.add_argument("--out", help="directory for the run and bench_train.json")
    p.add_argument("--maps", metavar="CHECKPOINT", help="only draw its grid units")
    p.add_argument(
        "--util",
        type=int,
        nargs="+",
        metavar="HIDDEN",
        help="only time steps at these numbers of hidden units",
    )
    args = p.parse_args(argv)
    if args.util:
        return utilisation_table(args)
    if args.maps:
        return show_maps(args)

    torch.set_num_threads(args.threads)
    encoding = benchmark_encoding(args)
    config = TrainConfig(
        steps=10**9,  # bounded by time, not steps
        batch_size=args.batch_size,
        sequence_length=args.sequence_length,
        learning_rate=args.lr,
        lr_half_life=args.lr_half_life,
        weight_decay=args.weight_decay,
        weight_decay_start=args.weight_decay_start,
        seed=args.seed,
        threads=args.threads,
        device=args.device,
        compile=args.compile,
        log_every=100,
        checkpoint_every=0,
    )
    model = ModelConfig(hidden=args.hidden, outputs=encoding.n_outputs, cell=args.rnn)
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    peak, peak_cpu = (
        matmul_peak(args.peak_size, threads=args.threads)
        if args.device == "cpu"
        else (None, None)
    )
    trainer = Trainer(encoding, draw_run_cells(encoding, args.seed), model, config)
    evaluation = GridEvaluation(
        walks=args.eval_walks,
        null_samples=args.null_samples,
        null_every_time=True,
        write=False,
    )
    flops = trainer.flops_per_step()
    predicted = (
        dos_grid_period(args.width, args.surround_scale, args.convention)
        if args.encoding == "dos"
        else None
    )
    header = (
        f"time to grid: {args.encoding} width {args.width} m, surround scale "
        f"{args.surround_scale} ({args.convention}), Np {args.place_cells}, "
        f"{args.rnn} {args.hidden} units, batch {args.batch_size} x "
        f"{args.sequence_length} steps, lr {args.lr:g}"
        + (f" (half-life {args.lr_half_life:g} steps)" if args.lr_half_life else "")
        + f", weight decay {args.weight_decay:g} from step "
        f"{args.weight_decay_start}, {args.threads} threads (OpenMP waiting "
        f"{OPENMP_WAITING}), compile {'on' if args.compile else 'off'}, torch "
        f"{torch.__version__}"
    )
    print(header)
    if predicted is not None:
        print(f"predicted grid period {predicted * CM_PER_M:.1f} cm (dense-cell limit)")
    if peak is not None:
        print(
            f"matmul peak ({args.peak_size}^2 float32, {args.threads} threads): "
            f"{peak:.0f} GFLOP/s wall, {peak_cpu:.0f} GFLOP per CPU-second"
        )
    print(f"training step: {flops / 1e9:.2f} GFLOP (matrix multiplies)")
    columns = (
        f"{'min':>5} {'step':>7} {'steps/s':>8} {'decode cm':>9} {'best60':>7} "
        f"{'>0.3':>6} {'>0.8':>6} {'>null99':>8} {'period cm':>9} {'util':>5} "
        f"{'utilC':>5} {'load':>5} {'cpu':>5}"
    )
    print(columns, flush=True)

    rows = []
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    for minutes in sorted(args.minutes):
        step_before, seconds_before = trainer.step, trainer.train_seconds
        cpu_before = time.process_time()
        while trainer.train_seconds < minutes * SECONDS_PER_MINUTE:
            trainer.train_step()
        interval_cpu = time.process_time() - cpu_before
        interval_rate = (trainer.step - step_before) / (
            trainer.train_seconds - seconds_before
        )
        share = (time.process_time() - cpu_started) / (
            time.perf_counter() - wall_started
        )
        metrics = trainer.evaluate(evaluation, final=True)
        rate = trainer.step / trainer.train_seconds
        # Utilisation of the steps since the previous row (steady state).
        utilisation = flops * interval_rate / (peak * 1e9) if peak else None
        steps = trainer.step - step_before
        utilisation_cpu = (
            flops * steps / interval_cpu / (peak_cpu * 1e9) if peak_cpu else None
        )
        row = {
            "minutes": minutes,
            "step": trainer.step,
            "steps_per_second": rate,
            "interval_steps_per_second": interval_rate,
            "flop_utilisation": utilisation,
            "flop_utilisation_cpu_time": utilisation_cpu,
            "load": float(_load()),
            "cpu_share": share,
            **metrics,
        }
        rows.append(row)

        def fmt(value, spec, scale=1.0):
            return "n/a" if value is None else format(value * scale, spec)

        print(
            f"{minutes:>5g} {trainer.step:>7d} {rate:>8.1f} "
            f"{fmt(metrics.get('decoding_error'), '9.1f', CM_PER_M)} "
            f"{fmt(metrics.get('best_score_60'), '7.2f')} "
            f"{fmt(metrics.get('fraction_score_60_above_0.3'), '6.1%')} "
            f"{fmt(metrics.get('fraction_score_60_above_0.8'), '6.1%')} "
            f"{fmt(metrics.get('fraction_beating_null'), '8.1%')} "
            f"{fmt(metrics.get('median_grid_period'), '9.1f', CM_PER_M)} "
            f"{fmt(utilisation, '5.0%')} {fmt(utilisation_cpu, '5.0%')} "
            f"{row['load']:>5.2f} {share:>5.2f}",
            flush=True,
        )
        if out is not None:
            trainer.save_checkpoint(out / f"checkpoint_{minutes:g}min.pt")

    summary = {
        "header": header,
        "predicted_grid_period": predicted,
        "matmul_peak_gflops": peak,
        "matmul_peak_gflops_per_cpu_second": peak_cpu,
        "flops_per_step": flops,
        "model": asdict(model),
        "train": asdict(config),
        "rows": rows,
    }
    if out is not None:
        (out / "bench_train.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
