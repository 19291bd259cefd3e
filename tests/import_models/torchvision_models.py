"""torchvision's classifiers for `cnnc import tests/import_models/torchvision_models.py:NAME`.

`cnnc import torchvision.models:resnet50` is the usual spelling; on the
project machines torchvision's compiled extension does not load next to the
CPU build of torch, and tests/zoo_reference.py knows how to import it anyway.
There is a function for each family of examples/zoo (resnet50, googlenet,
...), returning the model as the zoo harness builds it (`weights=None`;
GoogLeNet and Inception v3 without their auxiliary classifiers).
"""

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import zoo_reference  # noqa: E402

for _name in zoo_reference.FAMILIES:
    globals()[_name] = functools.partial(zoo_reference.build_reference, _name)
