"""torchvision's classifiers for `cnnc import tests/import_models/torchvision_models.py:NAME`.

`cnnc import torchvision.models:resnet50` is the usual spelling; on the
project machines torchvision's compiled extension does not load next to the
CPU build of torch, and tests/zoo_reference.py knows how to import it anyway.
Each function returns the model with `weights=None`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import zoo_reference  # noqa: E402

_models = zoo_reference.torchvision_models()


def resnet18():
    return _models.resnet18(weights=None)


def mobilenet_v2():
    return _models.mobilenet_v2(weights=None)
