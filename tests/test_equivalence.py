"""Generated modules compute what hand-written PyTorch computes.

Each hand-written model follows the usual PyTorch idiom (ResNet-18 as
torchvision writes it). Parameters and buffers are copied in order from the
hand-written model into the generated one, and the outputs must agree.
"""

from pathlib import Path

import pytest
import torch
from torch import nn

import cnndsl

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


class HandQuiz(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, 3)
        self.conv2 = nn.Conv2d(10, 20, 5, padding=2)
        self.pool4 = nn.MaxPool2d(4, 4)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc = nn.Linear(5120, 10)

    def forward(self, x):
        x = self.pool4(self.conv1(x))
        x = self.pool2(self.conv2(x))
        return self.fc(torch.flatten(x, 1))


class HandLeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


class HandResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, padding=1)
        blocks = []
        inplanes = 64
        for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes)]
            inplanes = planes
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layers(x)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def copy_in_order(source: nn.Module, target: nn.Module) -> None:
    source_state = list(source.state_dict().values())
    target_state = target.state_dict()
    assert len(source_state) == len(target_state)
    new_state = {}
    for (name, mine), theirs in zip(target_state.items(), source_state):
        assert mine.shape == theirs.shape, name
        new_state[name] = theirs.clone()
    target.load_state_dict(new_state)


@pytest.mark.parametrize(
    "example, hand, shape",
    [
        ("quiz", HandQuiz, (2, 3, 130, 130)),
        ("lenet5", HandLeNet5, (2, 1, 32, 32)),
        ("resnet18", HandResNet18, (1, 3, 96, 96)),
    ],
)
def test_generated_equals_hand_written(example, hand, shape):
    torch.manual_seed(0)
    reference = hand().eval()
    # Non-trivial batchnorm statistics, so that copying them matters.
    for module in reference.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    generated = cnndsl.load(EXAMPLES_DIR / f"{example}.cnn")().eval()
    copy_in_order(reference, generated)
    x = torch.randn(*shape)
    with torch.no_grad():
        torch.testing.assert_close(generated(x), reference(x), rtol=1e-4, atol=1e-5)
