"""Generated code against hand-written PyTorch: forward time, CPU, batch 8.

Each committed examples/*.py is imported by path and paired with its
hand-written equivalent (benchmarks/handwritten.py: a plain nn.Sequential with
the same layers; ResNet as torchvision writes it). The generated model's
parameters and buffers are copied into the hand-written one and the outputs
must agree. Then, in eval mode under torch.inference_mode, forward passes of
a batch of 8 are timed in alternating pairs, eagerly and under torch.compile
(compilation itself is done before timing and reported separately), with
one torch thread unless --threads says otherwise (then the time is the
process's CPU time, which other processes on a shared machine do not inflate).
Target: the paired ratio generated / hand-written is within noise of 1.0.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Series,
    arguments,
    example_class,
    machine_line,
    paired,
    report,
    seconds,
    spread,
    table,
    verdict,
)

ALL = ["quiz", "lesson", "lenet5", "alexnet", "vgg11", "vgg16", "mobilenet", "resnet18", "resnet34"]
QUICK = ["quiz", "lenet5", "lesson"]
QUICK_COMPILED = ["quiz"]
BATCH = 8
NOISE = 0.05  # a median ratio within 5% of 1.0 counts as equal


def within_noise(ratios: Series) -> bool:
    """1.0 lies within the spread of the paired ratios, or the median is within 5% of it."""
    return ratios.min <= 1.0 <= ratios.max or abs(ratios.median - 1.0) <= NOISE


def main() -> None:
    def extra(parser):
        parser.add_argument("--models", default=None, help=f"comma-separated examples (default: all; {', '.join(ALL)})")
        parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
        parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 0 keeps torch's default)")

    args = arguments(__doc__.splitlines()[0], extra)
    options = args
    models = options.models.split(",") if options.models else (QUICK if args.quick else ALL)
    compiled_models = [] if options.no_compile else (
        [m for m in models if m in QUICK_COMPILED] if args.quick else models
    )
    repeats = args.repeats or (3 if args.quick else 7)

    import torch

    import handwritten

    if options.threads:
        # On a shared machine, OpenMP threads that wait for each other turn a
        # millisecond forward pass into tens of milliseconds; one thread keeps
        # the comparison about the code, which threading does not change.
        torch.set_num_threads(options.threads)
    if options.threads == 1:
        # One thread: the process's CPU time is the forward pass's time, and
        # unlike the wall clock it does not count time the machine gave to others.
        global CLOCK
        CLOCK = time.process_time
    torch.manual_seed(0)
    rows = []
    results = {}
    checks = []
    for name in models:
        cls = example_class(name)
        generated = cls().eval()
        hand = handwritten.MODELS[name]().eval()
        generated_state = generated.state_dict()
        hand.load_state_dict(dict(zip(hand.state_dict(), generated_state.values())))
        x = torch.randn(BATCH, *cls.input_shape)
        with torch.inference_mode():
            torch.testing.assert_close(hand(x), generated(x), rtol=1e-4, atol=1e-4)
            # Enough forward passes per measurement to last about 0.1 s.
            single = min(_forward_time(generated, x, 1) for _ in range(2))
            loops = max(1, min(50, int(0.1 / max(single, 1e-6))))
            modes = [("eager", generated, hand, 0.0)]
            if name in compiled_models:
                start = time.perf_counter()
                compiled_generated = torch.compile(generated)
                compiled_generated(x)
                compile_time = time.perf_counter() - start
                compiled_hand = torch.compile(hand)
                compiled_hand(x)
                torch.testing.assert_close(compiled_hand(x), compiled_generated(x), rtol=1e-4, atol=1e-4)
                modes.append(("torch.compile", compiled_generated, compiled_hand, compile_time))
            for mode, model_a, model_b, compile_time in modes:
                pair = paired(
                    lambda: _forward_time(model_b, x, loops),  # A: hand-written
                    lambda: _forward_time(model_a, x, loops),  # B: generated
                    repeats,
                )
                ok = within_noise(pair.ratios)
                rows.append([
                    name,
                    mode,
                    spread(Series([t / loops for t in pair.a.values])),
                    spread(Series([t / loops for t in pair.b.values])),
                    f"{pair.ratios.median:.3f} ({pair.ratios.min:.3f} – {pair.ratios.max:.3f})",
                    "yes" if ok else "NO",
                    seconds(compile_time) if compile_time else "",
                ])
                results[f"{name} {mode}"] = {"pair": pair, "loops": loops, "within noise": ok, "compile": compile_time}

    clock = "process CPU time" if CLOCK is time.process_time else "wall clock"
    print(f"## Generated code against hand-written PyTorch (CPU, batch {BATCH}, {repeats} pairs, "
          f"torch threads {torch.get_num_threads()}, {clock})\n")
    print(machine_line() + "\n")
    print(table(
        ["example", "mode", "hand-written forward", "generated forward", "generated / hand-written", "within noise",
         "first compile (generated)"],
        rows,
    ))
    worst = max(results.items(), key=lambda item: abs(item[1]["pair"].ratios.median - 1))
    checks.append(verdict(
        all(r["within noise"] for r in results.values()),
        f"every paired ratio is within noise of 1.0 (1.0 inside the pairs' range, or within {NOISE:.0%}); "
        f"furthest median: {worst[0]} {worst[1]['pair'].ratios.median:.3f}",
    ))
    print("\n" + "\n".join(checks))
    report("generated_code", {"results": results, "verdicts": checks}, args)


CLOCK = time.perf_counter


def _forward_time(model, x, loops: int) -> float:
    start = CLOCK()
    for _ in range(loops):
        model(x)
    return CLOCK() - start


if __name__ == "__main__":
    main()
