"""Models for tests/test_import.py, written in styles no example of cnndsl resembles.

`cnnc import tests/import_models/custom.py:NAME` imports any of the
functions at the end; each returns a fresh model.
"""

import torch
import torch.nn.functional as F
from torch import nn


class ConvUnit(nn.Module):
    """The inner level: a 3x3 convolution, batch norm, and F.relu in forward."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.norm(self.conv(x)))


class Stage(nn.Module):
    """The outer level: two ConvUnits and a skip connection, projected when the type changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.first = ConvUnit(cin, cout, stride)
        self.second = ConvUnit(cout, cout)
        self.skip = nn.Conv2d(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = self.second(self.first(x))
        shortcut = x if self.skip is None else self.skip(x)
        return F.relu(y + shortcut)


class Nested(nn.Module):
    """Custom classes two deep, Stage instantiated with different arguments, functional calls in forward."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = ConvUnit(3, 16)
        self.stages = nn.ModuleList([Stage(16, 16, 1), Stage(16, 32, 2), Stage(32, 32, 1), Stage(32, 64, 2), Stage(64, 64, 1)])
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.head(x)


class LeNet(nn.Module):
    """The classic tutorial network: fixed 28x28 grey images, x.view(-1, 320), F.max_pool2d, F.dropout."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, 0.5, training=self.training)
        return F.log_softmax(self.fc2(x), dim=1)


class Recurrent(nn.Module):
    """An LSTM in the middle: a module the language has no layer for."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.rnn = nn.LSTM(8, 8)

    def forward(self, x):
        x = self.conv(x).flatten(2).permute(2, 0, 1)
        return self.rnn(x)[0]


class Sorting(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return torch.sort(self.conv(x), dim=1).values


class Branching(nn.Module):
    """Control flow that depends on the data: fx cannot follow it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        y = self.conv(x)
        if y.mean() > 0:
            return y
        return -y


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class CustomFunction(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return Square.apply(self.conv(x))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x, mask):
        return self.conv(x) * mask


class Scaled(nn.Module):
    """`x * 0.5`: a constant the language cannot write."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv(x) * 0.5


class Shared(nn.Module):
    """One convolution applied twice: shared weights."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x))


def nested():
    return Nested()


def lenet():
    return LeNet()


def recurrent():
    return Recurrent()


def sorting():
    return Sorting()


def branching():
    return Branching()


def custom_function():
    return CustomFunction()


def two_inputs():
    return TwoInputs()


def scaled():
    return Scaled()


def shared():
    return Shared()


# Bad specs.
not_callable = 42


def returns_a_number():
    return 3


def raises():
    raise RuntimeError("the weights are missing")


def needs_arguments(width, depth=3):
    return Nested()


model = Nested()


# Issue 13's layers: each model uses one, so that a test can check the mapping (or the diagnostic before it lands).


class Hard(nn.Module):
    """MobileNet v3's activations and BatchNorm settings."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(8, eps=0.001, momentum=0.01)
        self.act = nn.Hardswish()

    def forward(self, x):
        return F.hardsigmoid(self.act(self.norm(self.conv(x))))


def channel_shuffle(x, groups):
    """torchvision's ShuffleNet v2 shuffle, written out."""
    batch, channels, height, width = x.size()
    x = x.view(batch, groups, channels // groups, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batch, -1, height, width)


class Shuffled(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.shuffle = nn.ChannelShuffle(4)

    def forward(self, x):
        return self.shuffle(channel_shuffle(self.conv(x), 2))


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block: a depthwise convolution, then channels-last LayerNorm and Linear layers, a layer scale."""

    def __init__(self, dim=8):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.up = nn.Linear(dim, 4 * dim)
        self.down = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim, 1, 1), 1e-6))

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.down(F.gelu(self.up(self.norm(y)))).permute(0, 3, 1, 2)
        return x + self.gamma * y


class ConvNeXtLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 4, stride=4)
        self.block = ConvNeXtBlock(8)

    def forward(self, x):
        return self.block(self.stem(x))


class VectorNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3 * 16 * 16, 16)
        self.norm = nn.LayerNorm(16)

    def forward(self, x):
        return self.norm(self.fc(torch.flatten(x, 1)))


# -- issue 18's layers: an encoder-decoder and a generator ----------------------------------------------


def randomise_affine(model: nn.Module, seed: int) -> None:
    """GroupNorm/InstanceNorm scales and shifts and PReLU slopes away from their defaults (1, 0, 0.25), so a swap would show."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.GroupNorm, nn.InstanceNorm2d, nn.PReLU, nn.ConvTranspose2d)):
                for parameter in module.parameters(recurse=False):
                    parameter.copy_(parameter + 0.3 * torch.randn(parameter.shape, generator=generator))


class EncoderDecoder(nn.Module):
    """Down with conv and pool, up with a transposed convolution and upsampling; every issue 18 normalisation and padding."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(3, 16, 3),
            nn.GroupNorm(4, 16),
            nn.PReLU(16, init=0.1),  # a slope per channel, initialised off PyTorch's 0.25
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.InstanceNorm2d(32, affine=True),
            nn.PReLU(),
            nn.Dropout2d(0.2),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ReplicationPad2d(1),
            nn.CircularPad2d(1),
            nn.ZeroPad2d((2, 2, 1, 1)),
            nn.ConstantPad2d(1, 0.0),
            nn.Conv2d(16, 16, 3),
            nn.Upsample(scale_factor=2, mode="bilinear"),
            nn.UpsamplingNearest2d(scale_factor=2),
            nn.UpsamplingBilinear2d(scale_factor=(1, 2)),  # align_corners=True
            nn.ConvTranspose2d(16, 3, 3, stride=2, padding=1, output_padding=1, bias=False),
            nn.InstanceNorm2d(3),
        )
        randomise_affine(self, 18)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class Generator(nn.Module):
    """A DCGAN-like generator: a latent (N, 16, 1, 1) through a linear layer, unflattened, then transposed convolutions."""

    def __init__(self):
        super().__init__()
        self.project = nn.Linear(16, 4 * 4 * 32)
        self.unflatten = nn.Unflatten(1, (32, 4, 4))
        self.up = nn.Sequential(
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1, bias=False),
            nn.GroupNorm(2, 16),
            nn.PReLU(),
            nn.ConvTranspose2d(16, 8, 3, stride=2, padding=2, output_padding=1, dilation=2, groups=2),
            nn.UpsamplingNearest2d(size=(24, 20)),
            nn.ConvTranspose2d(8, 3, 3, padding=1),
            nn.Tanh(),
        )
        randomise_affine(self, 13)

    def forward(self, z):
        return self.up(self.unflatten(self.project(torch.flatten(z, 1))))


class TinyUNet(nn.Module):
    """One level of U-Net: the stem's map skips the way down and up and is concatenated after it."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.GroupNorm(2, 8))
        self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.head = nn.Conv2d(16, 4, 1)

    def forward(self, x):
        skip = self.stem(x)
        return self.head(torch.cat([self.up(self.down(skip)), skip], 1))


class OutputSize(nn.Module):
    """A transposed convolution told its output size at the call."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2)

    def forward(self, x):
        return self.up(x, output_size=(18, 18))


class ChannelsLastPReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = nn.PReLU(8)

    def forward(self, x):
        return self.act(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class FunctionalEncoderDecoder(nn.Module):
    """The functional forms of issue 18's layers: F.pad in every mode, F.interpolate, F.dropout2d."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3)
        self.mid = nn.Conv2d(8, 8, 3)
        self.up = nn.Conv2d(8, 4, 3)

    def forward(self, x):
        x = F.pad(x, (1, 1, 2, 2), mode="reflect")
        x = F.max_pool2d(torch.relu(self.down(x)), 2)
        x = F.pad(x, (1, 1, 0, 0), mode="replicate")
        x = F.pad(x, [1, 1, 1, 1], mode="circular")
        x = F.dropout2d(self.mid(x), 0.25, training=self.training)
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        x = F.pad(x, (2, 2), value=0.0)  # the width's sides only (zeros: two amounts are enough)
        x = F.interpolate(x, scale_factor=(1, 2))
        return F.interpolate(self.up(x), size=(20, 36), mode="bilinear")


class SizedPadding(nn.Module):
    """The upsampling step of a popular U-Net: pad the smaller map to the skip's size, amounts read from the sizes."""

    def forward(self, x):
        small = F.max_pool2d(x, 2)
        rows, columns = x.size()[2] - small.size()[2], x.size()[3] - small.size()[3]
        return F.pad(small, [columns // 2, columns - columns // 2, rows // 2, rows - rows // 2])


class SizedInterpolation(nn.Module):
    """Upsampling to another map's size (feature pyramids)."""

    def forward(self, x):
        return F.interpolate(F.max_pool2d(x, 2), size=x.shape[2:]) + x


class Double(nn.Module):
    """Two 3x3 convolutions with ReLU, the U-Net's unit."""

    def __init__(self, inputs: int, outputs: int):
        super().__init__()
        self.first = nn.Conv2d(inputs, outputs, 3, padding=1)
        self.second = nn.Conv2d(outputs, outputs, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.second(torch.relu(self.first(x))))


class TwoLevelUNet(nn.Module):
    """Two levels of U-Net, the skip concatenated first (`torch.cat([skip, up], 1)`, the paper's order)."""

    def __init__(self):
        super().__init__()
        self.enc1, self.enc2, self.bottom = Double(3, 8), Double(8, 16), Double(16, 32)
        self.up2, self.dec2 = nn.ConvTranspose2d(32, 16, 2, stride=2), Double(32, 16)
        self.up1, self.dec1 = nn.ConvTranspose2d(16, 8, 2, stride=2), Double(16, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        y = self.bottom(F.max_pool2d(e2, 2))
        y = self.dec2(torch.cat([e2, self.up2(y)], 1))
        return self.head(self.dec1(torch.cat([e1, self.up1(y)], 1)))
