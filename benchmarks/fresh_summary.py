"""Fresh-process summary of VGG-16: `cnnc summary` against a fresh python running torchinfo.

What a user waits for at the shell: `cnnc summary examples/vgg16.cnn`
against `python show_vgg16.py`, a script that imports torch and torchinfo,
imports the committed examples/vgg16.py, builds the model and prints
`torchinfo.summary(model, input_size=(1, 3, 224, 224))`. Target: >= 20x.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    EXAMPLES,
    NEUTRAL_DIR,
    PYTHON,
    arguments,
    cnnc_command,
    installed_environment,
    python_option,
    compiled_copy,
    interleaved,
    machine_line,
    ratio,
    report,
    run_process,
    seconds,
    spread,
    table,
    verdict,
)

TARGET = 20

TORCHINFO_SCRIPT = """
import importlib.util, sys
import torch, torchinfo
spec = importlib.util.spec_from_file_location("example", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
Net = getattr(module, sys.argv[2])
print(torchinfo.summary(Net(), input_size=(1, *(224 if s is None else s for s in Net.input_shape)), device="cpu"))
"""


def main() -> None:
    def extra(parser):
        parser.add_argument("--example", default="vgg16", help="the example to summarise (default vgg16)")
        python_option(parser)

    args = arguments(__doc__.splitlines()[0], extra)
    repeats = args.repeats or (2 if args.quick else 7)
    python = args.python or PYTHON
    compiled = installed_environment(args.python) if args.python else compiled_copy(bytecode=True)
    torch_env = compiled if args.python else None
    script = NEUTRAL_DIR / "show_model.py"
    script.write_text(TORCHINFO_SCRIPT)
    source = EXAMPLES / f"{args.example}.cnn"
    class_name = json.loads(subprocess.run(
        [*cnnc_command(python), "summary", "--format", "json", str(source)], env=compiled, capture_output=True, text=True, check=True
    ).stdout)["network"]
    pairs = interleaved(
        {
            "cnnc summary": lambda: run_process([*cnnc_command(python), "summary", str(source)], env=compiled),
            "python + torchinfo": lambda: run_process(
                [python, str(script), str(EXAMPLES / f"{args.example}.py"), class_name], env=torch_env
            ),
        },
        "cnnc summary",
        repeats,
    )
    pair = pairs["python + torchinfo"]
    print(f"## Fresh-process summary of {args.example} ({repeats} rounds)\n")
    print(machine_line() + "\n")
    print(f"Interpreter: {python}" + (" (its own wheel install of cnndsl)" if args.python else " (a byte-compiled copy of this checkout)") + ".\n")
    print(table(
        ["command (fresh process)", "wall: median (min – max)", "x slower than cnnc: median (min – max)", "CPU: median",
         "x slower (CPU)"],
        [
            [f"cnnc summary examples/{args.example}.cnn (byte-compiled)", spread(pair.a), "1", seconds(pair.cpu_a.median), "1"],
            [f"python show_model.py examples/{args.example}.py (torch + torchinfo)", spread(pair.b), spread(pair.ratios, ratio),
             seconds(pair.cpu_b.median), ratio(pair.cpu_ratios.median)],
        ],
    ))
    checks = [verdict(pair.ratios.median >= TARGET, f"cnnc summary is {pair.ratios.median:.1f}x faster (at least {TARGET}x)")]
    print("\n" + "\n".join(checks))
    report("fresh_summary", {"pair": pair, "verdicts": checks}, args)


if __name__ == "__main__":
    main()
