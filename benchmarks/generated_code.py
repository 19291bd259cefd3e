"""Generated code against hand-written PyTorch: forward time, CPU, batch 8.

Each committed examples/*.py is imported by path and compared with its
hand-written equivalent (benchmarks/handwritten.py: a plain nn.Sequential with
the same layers; ResNet as torchvision writes it). The generated model's
parameters and buffers are copied into the hand-written one and the outputs
must agree. Then, in eval mode under torch.inference_mode, forward passes of
a batch of 8 are timed in rotating rounds with a second copy of the
hand-written model as an A/A control (what identical code gives), eagerly
and under torch.compile
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
    concrete_input_shape,
    Series,
    arguments,
    example_class,
    machine_line,
    interleaved,
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


def within_noise(ratio: Series, control: Series) -> bool:
    """The generated model's median ratio is no further from 1.0 than identical code can be.

    `control` is the A/A ratio: a second copy of the hand-written model (compiled
    separately under torch.compile) against the first, measured in the same
    rounds. Within noise: the median lies within 5% of 1.0, or inside the range
    the control's ratios covered.
    """
    return abs(ratio.median - 1.0) <= NOISE or control.min <= ratio.median <= control.max


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
        copy = handwritten.MODELS[name]().eval()  # the A/A control
        copy.load_state_dict(hand.state_dict())
        x = torch.randn(BATCH, *concrete_input_shape(cls))
        print(f"{name}...", file=sys.stderr, flush=True)
        with torch.inference_mode():
            torch.testing.assert_close(hand(x), generated(x), rtol=1e-4, atol=1e-4)
            # Enough forward passes per measurement to last about 0.1 s.
            single = min(_forward_time(generated, x, 1) for _ in range(2))
            loops = max(1, min(50, int(0.1 / max(single, 1e-6))))
            modes = [("eager", generated, hand, copy, 0.0)]
            if name in compiled_models:
                # Every hand-written model is an nn.Sequential: they share one forward
                # code object, so after the first model torch.compile would see "the
                # same function with new shapes" and compile it for dynamic shapes
                # (slower kernels), while each generated class has its own forward.
                # A user compiles one model per process: start from a clean slate.
                torch._dynamo.reset()
                start = time.perf_counter()
                compiled_generated = torch.compile(generated)
                compiled_generated(x)
                compile_time = time.perf_counter() - start
                compiled_hand = torch.compile(hand)
                compiled_hand(x)
                compiled_copy = torch.compile(copy)
                compiled_copy(x)
                torch.testing.assert_close(compiled_hand(x), compiled_generated(x), rtol=1e-4, atol=1e-4)
                modes.append(("torch.compile", compiled_generated, compiled_hand, compiled_copy, compile_time))
            for mode, model_gen, model_hand, model_copy, compile_time in modes:
                pairs = interleaved(
                    {
                        "hand-written": lambda: _forward_time(model_hand, x, loops),
                        "copy": lambda: _forward_time(model_copy, x, loops),
                        "generated": lambda: _forward_time(model_gen, x, loops),
                    },
                    "hand-written",
                    repeats,
                )
                pair, control = pairs["generated"], pairs["copy"].ratios
                ok = within_noise(pair.ratios, control)
                rows.append([
                    name,
                    mode,
                    spread(Series([t / loops for t in pair.a.values])),
                    spread(Series([t / loops for t in pair.b.values])),
                    f"{pair.ratios.median:.3f} ({pair.ratios.min:.3f} – {pair.ratios.max:.3f})",
                    f"{control.median:.3f} ({control.min:.3f} – {control.max:.3f})",
                    "yes" if ok else "NO",
                    seconds(compile_time) if compile_time else "",
                ])
                results[f"{name} {mode}"] = {
                    "pair": pair, "control": pairs["copy"], "loops": loops, "within noise": ok, "compile": compile_time,
                }

    clock = "process CPU time" if CLOCK is time.process_time else "wall clock"
    print(f"## Generated code against hand-written PyTorch (CPU, batch {BATCH}, {repeats} pairs, "
          f"torch threads {torch.get_num_threads()}, {clock})\n")
    print(machine_line() + "\n")
    print(table(
        ["example", "mode", "hand-written forward", "generated forward", "generated / hand-written",
         "A/A: copy / hand-written", "within noise", "first compile (generated)"],
        rows,
    ))
    worst = max(results.items(), key=lambda item: abs(item[1]["pair"].ratios.median - 1))
    checks.append(verdict(
        all(r["within noise"] for r in results.values()),
        f"every paired ratio is within noise of 1.0 (within {NOISE:.0%}, or inside the A/A control's range); "
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
