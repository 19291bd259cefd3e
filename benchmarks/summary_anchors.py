"""The static summary against what PyTorch users run instead, in one process.

For quiz, LeNet-5, VGG-16 (224x224) and ResNet-18, the time to get a
network's shapes and parameter counts:

- cnndsl: check the .cnn source, summarise it, render the table (with the
  memory figures) -- all of `cnnc summary` except starting the process;
- torchinfo.summary: construct the model (from the committed examples/*.py)
  and run a batch of 1 through it on the CPU, then render its table;
- the meta device: construct the model on `meta` and run a batch through it
  (no memory, no arithmetic: the cheapest way PyTorch itself offers);
- torch.utils.flop_counter.FlopCounterMode: construct on `meta`, run a batch
  under the counter, read the total.

torch and torchinfo are imported before timing: this compares the work per
model, not start-up (see cold_start.py for that). Each anchor is timed in
rounds against cnndsl. The results must agree: identical parameter totals,
and MACs equal to half the flop counter's total.
Target: cnndsl >= 100x faster than torchinfo on VGG-16.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    concrete_input_shape,
    EXAMPLES,
    arguments,
    example_class,
    interleaved,
    machine_line,
    ratio,
    report,
    spread,
    table,
    timed,
    verdict,
)

MODELS = {"quiz": "quiz", "LeNet-5": "lenet5", "VGG-16": "vgg16", "ResNet-18": "resnet18"}
TARGET = 100


def main() -> None:
    def extra(parser):
        parser.add_argument("--models", help=f"comma-separated, from {', '.join(MODELS.values())} (default: all)")

    args = arguments(__doc__.splitlines()[0], extra)
    repeats = args.repeats or (2 if args.quick else 7)
    chosen = args.models.split(",") if args.models else list(MODELS.values())

    import torch
    import torchinfo
    from torch.utils.flop_counter import FlopCounterMode

    from cnndsl.compiler import check_program, instantiate
    from cnndsl.reports.summary import render_table, summarize

    torch.set_grad_enabled(False)
    rows = []
    agreement = []
    results = {}
    for label, name in MODELS.items():
        if name not in chosen:
            continue
        path = EXAMPLES / f"{name}.cnn"
        text = path.read_bytes()
        cls = example_class(name)
        shape = (1, *concrete_input_shape(cls))
        found = {}

        def static():
            program = check_program(text, str(path))
            if program.symbolic:  # what `cnnc summary --size 224x224` does
                program = instantiate(program, *shape[2:])
            summary = summarize(program)
            render_table(program, memory=summary.memory)
            found["static"] = (program.total_params, program.total_macs)

        def with_torchinfo():
            model = cls()
            stats = torchinfo.summary(model, input_size=shape, device="cpu", verbose=0)
            str(stats)
            found["torchinfo"] = stats.total_params

        def on_meta():
            with torch.device("meta"):
                model = cls()
                model(torch.empty(shape))
            found["meta"] = sum(p.numel() for p in model.parameters())

        def flop_counter():
            with torch.device("meta"):
                model = cls()
                with FlopCounterMode(display=False) as counter:
                    model(torch.empty(shape))
            found["flops"] = counter.get_total_flops()

        pairs = interleaved(
            {
                "cnndsl": lambda: timed(static),
                "torchinfo": lambda: timed(with_torchinfo),
                "meta device": lambda: timed(on_meta),
                "flop counter": lambda: timed(flop_counter),
            },
            "cnndsl",
            repeats,
        )
        params, macs = found["static"]
        same = found["torchinfo"] == params == found["meta"] and found["flops"] == 2 * macs
        agreement.append((label, params, found["torchinfo"], found["meta"], macs, found["flops"], same))
        static_times = pairs["torchinfo"].a
        rows.append([label, spread(static_times)] + [
            f"{spread(pair.b)}; {ratio(pair.ratios.median)}" for pair in pairs.values()
        ])
        results[label] = {"cnndsl": static_times, **pairs}

    print(f"## Static summary against the anchors, in one process ({repeats} rounds)\n")
    print(machine_line() + "\n")
    print(table(
        ["network", "cnndsl: median (min – max)", "torchinfo; x slower", "meta device; x slower", "flop counter; x slower"],
        rows,
    ))
    print("\nAgreement (parameters; MACs against half the flop counter's total):\n")
    print(table(
        ["network", "cnndsl params", "torchinfo", "meta device", "cnndsl MACs", "flop counter / 2", "agree"],
        [[label, f"{p:,}", f"{t:,}", f"{m:,}", f"{macs:,}", f"{flops // 2:,}", "yes" if ok else "NO"]
         for label, p, t, m, macs, flops, ok in agreement],
    ))
    checks = []
    if "VGG-16" in results:
        vgg = results["VGG-16"]["torchinfo"].ratios
        checks.append(verdict(vgg.median >= TARGET, f"cnndsl is {vgg.median:,.0f}x faster than torchinfo on VGG-16 "
                              f"(min {vgg.min:,.0f}x, max {vgg.max:,.0f}x; at least {TARGET}x)"))
    checks.append(verdict(all(row[-1] for row in agreement), "identical parameter totals, MACs == flop counter / 2"))
    print("\n" + "\n".join(checks))
    report("summary_anchors", {"results": results, "agreement": agreement, "verdicts": checks}, args)


if __name__ == "__main__":
    main()
