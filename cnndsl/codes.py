"""The registry of diagnostic codes: one entry per code, with its explanation.

Codes are stable: a code, once published, keeps its meaning. `cnnc explain
CODE` prints `explanation`; docs/diagnostics.md is generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    """One diagnostic code: its identifier, short name, summary and long form."""

    code: str
    name: str
    summary: str
    explanation: str

    @property
    def severity(self) -> str:
        return "warning" if self.code.startswith("W") else "error"


def _code(code: str, name: str, summary: str, explanation: str) -> Code:
    return Code(code, name, summary, explanation.strip("\n"))


CODES: dict[str, Code] = {
    c.code: c
    for c in [
        _code(
            "E0001",
            "syntax-error",
            "the text does not follow the grammar of a .cnn file",
            """
A statement is a layer name followed by its arguments, one statement per line
or separated by `;`. Blocks, repeats and residuals wrap statements in braces,
which must balance. Only letters, digits, `_`, `.`, `=`, `,`, `;`, `(`, `)`,
`{`, `}` and `#` comments may appear.

Wrong:

    conv 10 k3 @ relu
    repeat 2 { conv 10 k3

Right:

    conv 10 k3 relu
    repeat 2 { conv 10 k3 }

After a syntax error the rest of the statement is skipped and checking goes
on at the next statement, so every independent error is reported in one run.
""",
        ),
        _code(
            "E0002",
            "invalid-encoding",
            "the file is not valid UTF-8",
            """
.cnn files are read as UTF-8. A file in another encoding (or a binary file)
cannot be decoded; the diagnostic points at line 1, column 1 and names the
first byte offset that is not UTF-8.

Fix: save the file as UTF-8. Only comments may contain non-ASCII text.
""",
        ),
        _code(
            "E0010",
            "unknown-layer",
            "a statement names no known layer or block",
            """
The first word of a statement is a layer (conv, pool, avgpool, batchnorm,
dropout, flatten, linear, an activation such as relu), a structural keyword
(network, input, block, repeat, residual) or the name of a block defined in
the file. Anything else is reported with the closest valid name.

Wrong:

    convv 10 k3

Right:

    conv 10 k3
""",
        ),
        _code(
            "E0011",
            "unknown-option",
            "a layer was given an option it does not take",
            """
Each layer takes a fixed set of options, written as one letter glued to its
value (`k3`, `s2`, `p1`, `d2`, `g4`, `k3x5`), spelled out with `=`
(`kernel=3`, `stride=2`), or as flags (`same`, `nobias`, `ceil`). A conv or
linear layer may end with one activation (`relu`). The diagnostic lists the
closest option the layer accepts.

Wrong:

    conv 10 x3
    pool 2 k3

Right:

    conv 10 k3
    pool 3 s2

Inside a block, pass a parameter with the long form: `kernel=f`, not `kf`.
""",
        ),
        _code(
            "E0012",
            "missing-argument",
            "a layer lacks a required argument",
            """
Some arguments have no default: the number of filters and the kernel size of
`conv`, the window of `pool` and `avgpool`, the size of `linear`, the
probability of `dropout`, the size of `input`.

Wrong:

    conv 10
    linear

Right:

    conv 10 k3
    linear 10
""",
        ),
        _code(
            "E0013",
            "malformed-value",
            "a number or size is not written the way the layer expects",
            """
Integers are decimal (`10`), probabilities and slopes are decimals (`0.5`), and
sizes are integers joined by a lower-case `x` with no spaces (`130x130x3`,
`3x5`). A window option takes one integer for both axes or `HxW`.

Wrong:

    input 130x130
    conv 10 k3x
    dropout half

Right:

    input 130x130x3
    conv 10 k3x5
    dropout 0.5
""",
        ),
        _code(
            "E0014",
            "repeated-option",
            "the same option is given twice",
            """
Each option may be given once per layer; with two, it is unclear which one
was meant.

Wrong:

    conv 10 k3 k5

Right:

    conv 10 k5
""",
        ),
        _code(
            "E0015",
            "conflicting-options",
            "two options contradict each other",
            """
Some options exclude each other: `same` computes the padding itself, so it
cannot be combined with an explicit `p`; a layer takes at most one
activation.

Wrong:

    conv 32 k3 same p1
    conv 32 k3 relu gelu

Right:

    conv 32 k3 same
    conv 32 k3 relu
""",
        ),
        _code(
            "E0016",
            "invalid-name",
            "a network, block or parameter name cannot be used",
            """
Names become Python identifiers in the generated module. A name is ASCII: a
letter or `_`, then letters, digits or `_`. It must not be a Python keyword,
must not start with `__`, and must not collide with a name the generated
module uses itself (`torch`, `nn`, `Residual`, ...). Names are never renamed
silently.

Wrong:

    network class
    block __init__(c) { conv c k3 }

Right:

    network Classifier
    block stem(c) { conv c k3 }
""",
        ),
        _code(
            "E0020",
            "missing-input",
            "the program has no `input` statement",
            """
Every network states the shape of one input sample, height x width x
channels, before its first layer.

Wrong:

    conv 10 k3

Right:

    input 32x32x3
    conv 10 k3
""",
        ),
        _code(
            "E0021",
            "late-input",
            "`input` comes after a layer",
            """
`input` gives the type that the first layer receives, so it must come before
every layer. The diagnostic points at the `input` line and names the first
layer that precedes it.

Wrong:

    conv 10 k3
    input 32x32x3

Right:

    input 32x32x3
    conv 10 k3
""",
        ),
        _code(
            "E0022",
            "repeated-input",
            "`input` appears more than once",
            """
A network has exactly one input. The first `input` counts; later ones are
reported.

Wrong:

    input 32x32x3
    input 64x64x3

Right:

    input 32x32x3
""",
        ),
        _code(
            "E0023",
            "repeated-network",
            "`network` appears more than once",
            """
`network NAME` names the generated class; it may be given once.

Wrong:

    network A
    network B

Right:

    network A
""",
        ),
        _code(
            "E0024",
            "misplaced-statement",
            "a statement appears where it is not allowed",
            """
`network`, `input` and `block` definitions belong at the top level of the
file, not inside a block, a repeat or a residual; `shortcut` must directly
follow a `residual { ... }`.

Wrong:

    repeat 2 { input 32x32x3 }
    shortcut { conv 64 k1 }

Right:

    input 32x32x3
    residual { conv 3 k3 p1 } shortcut { conv 3 k1 }
""",
        ),
        _code(
            "E0030",
            "window-too-large",
            "a kernel or pooling window does not fit its input",
            """
Along each axis a convolution or pooling window produces
`floor((in + 2P - D*(F - 1) - 1) / S) + 1` outputs (PyTorch's rule; with
D = 1 it is the familiar `(W - F + 2P)/S + 1`). When that is zero or less the
window does not fit: the input is too small for the kernel. Add padding,
use a smaller kernel, or pool less before this layer.

Wrong (the map is 3x3 when the 5x5 kernel arrives):

    input 12x12x3
    pool 4
    conv 20 k5

Right:

    input 12x12x3
    pool 4
    conv 20 k5 p2      # (3 + 2*2 - 5)/1 + 1 = 3
""",
        ),
        _code(
            "E0031",
            "needs-feature-map",
            "a layer that works on feature maps was given a vector",
            """
Convolution, pooling and `flatten` work on feature maps (height x width x
channels). After `flatten` (or `linear`) the data is a vector, so these layers
no longer apply. Move the layer before `flatten`.

Wrong:

    flatten
    conv 10 k3

Right:

    conv 10 k3
    flatten
""",
        ),
        _code(
            "E0032",
            "needs-vector",
            "a layer that works on vectors was given a feature map",
            """
`linear` (and `softmax`/`logsoftmax`) work on vectors. A feature map must be
flattened first; the message says how many features `flatten` would give.
This is PyTorch's `mat1 and mat2 shapes cannot be multiplied`, caught before
anything runs.

Wrong:

    conv 20 k5 p2
    linear 10

Right:

    conv 20 k5 p2
    flatten
    linear 10
""",
        ),
        _code(
            "E0033",
            "bad-groups",
            "the group count does not divide the channels",
            """
A grouped convolution splits its input and output channels into `g` groups,
so `g` must divide both the input channels and the number of filters. The
help names the nearest group count that does.

Wrong (24 input channels):

    conv 32 k3 g5

Right:

    conv 32 k3 g4
""",
        ),
        _code(
            "E0034",
            "same-with-stride",
            "`same` padding with a stride greater than 1",
            """
`same` keeps the height and width of the input, which is only possible with
stride 1 (PyTorch refuses `padding="same"` for strided convolutions). Give
the padding explicitly instead.

Wrong:

    conv 64 k3 s2 same

Right:

    conv 64 k3 s2 p1
""",
        ),
        _code(
            "E0035",
            "value-out-of-range",
            "a value is outside the range the layer accepts",
            """
Counts and sizes are at least 1 (filters, kernel, stride, dilation, groups,
features, repeat counts), padding is at least 0 and, for pooling, at most
half the window (PyTorch's limit), and a dropout probability `P` satisfies
`0 <= P < 1`.

Wrong:

    conv 0 k3
    pool 2 s0
    dropout 1.0

Right:

    conv 16 k3
    pool 2
    dropout 0.5
""",
        ),
        _code(
            "E0040",
            "wrong-argument-count",
            "a block call passes the wrong number of arguments",
            """
A block call passes exactly one value per parameter, in order.

Wrong:

    block vgg(c, n) { repeat n { conv c k3 p1 relu } pool 2 }
    vgg 64

Right:

    vgg 64 2
""",
        ),
        _code(
            "E0041",
            "recursive-block",
            "a block calls itself, directly or through other blocks",
            """
Blocks are expanded when the program is checked, so a block that calls
itself would expand forever. The message lists the chain of calls.

Wrong:

    block a(c) { conv c k3; a c }

Right:

    block a(c) { conv c k3 }
    repeat 3 { a 16 }
""",
        ),
        _code(
            "E0042",
            "undefined-parameter",
            "a name is used as a value but is no parameter in scope",
            """
Inside a block a parameter can stand wherever an integer can. A name that is
not a parameter of the enclosing block has no value.

Wrong:

    block down(c) { conv n k3 }

Right:

    block down(c) { conv c k3 }
""",
        ),
        _code(
            "E0043",
            "duplicate-block",
            "a block name is defined twice or hides a layer",
            """
Each block has one definition, and a block may not take the name of a layer
(`conv`, `relu`, ...) or of a structural keyword.

Wrong:

    block conv(c) { conv c k3 }

Right:

    block conv3(c) { conv c k3 }
""",
        ),
        _code(
            "E0050",
            "residual-mismatch",
            "a residual's body and shortcut produce different types",
            """
`residual { BODY } shortcut { PATH }` adds two tensors, so BODY and PATH (the
identity when there is no shortcut) must produce the same type. When the body
changes the channels or the size, a 1x1 projection shortcut makes them match;
the help spells it out.

Wrong (the body halves the size and doubles the channels):

    input 56x56x64
    residual { conv 128 k3 s2 p1 nobias; bn; relu; conv 128 k3 p1 nobias; bn }

Right:

    input 56x56x64
    residual { conv 128 k3 s2 p1 nobias; bn; relu; conv 128 k3 p1 nobias; bn }
    shortcut { conv 128 k1 s2 nobias; bn }
""",
        ),
        _code(
            "E0060",
            "program-too-large",
            "the program expands to more layers than the limit",
            """
Repeats and block calls multiply. The checker computes how many layers a
statement expands to before expanding it, and refuses programs beyond
1,000,000 layers, so that a typo like `repeat 1000000000` costs nothing.

Wrong:

    repeat 100000 { repeat 100000 { conv 8 k3 p1 } }

Right:

    repeat 10 { conv 8 k3 p1 }
""",
        ),
        _code(
            "E0061",
            "size-too-large",
            "a number or a feature map is too large to build",
            """
Values are limited to 2**31 - 1 and a single sample's feature map to 2**31 - 1
elements, PyTorch's indexing limit for many kernels; beyond that no machine
would build the model anyway.

Wrong:

    input 1000000000x1000000000x3
    conv 1000000000000 k3

Right:

    input 224x224x3
    conv 64 k3
""",
        ),
        _code(
            "E0062",
            "nesting-too-deep",
            "blocks, repeats or residuals are nested too deeply",
            """
Braces may nest up to 64 levels and block calls may chain up to 64 levels.
Deeper structure is almost certainly a mistake and would make the generated
module unreadable.

Fix: flatten the structure, or use `repeat` instead of nesting.
""",
        ),
        _code(
            "E0070",
            "unsupported",
            "the statement uses a feature this version does not support yet",
            """
Symbolic input sizes (`input HxWx3`) are designed but not implemented yet.
Give the input size as numbers.

Wrong (for now):

    input HxWx3

Right:

    input 224x224x3
""",
        ),
        _code(
            "W0001",
            "unused-rows",
            "a stride or pooling window leaves input rows or columns unused",
            """
When `(in + 2P - D*(F - 1) - 1) mod S` is not zero, the window's last steps
do not reach the end of the input: the remaining rows (or columns) are
silently ignored by PyTorch. The warning names how many, and which padding or
input size would use them. Layers marked `ceil` round up instead and are not
reported.

Warned (130 is even, a 3-wide window with stride 2 leaves one column):

    input 130x130x3
    conv 16 k3 s2

Quiet:

    input 131x131x3
    conv 16 k3 s2
""",
        ),
        _code(
            "W0002",
            "no-op-layer",
            "a layer that does nothing",
            """
Some layers leave their input unchanged: `dropout 0`, `flatten` of a vector.
They cost nothing at run time but usually mean a typo.

Warned:

    dropout 0

Quiet:

    dropout 0.5
""",
        ),
        _code(
            "W0003",
            "repeated-activation",
            "the same activation twice in a row",
            """
Applying the same activation twice in a row is at best useless (ReLU is
idempotent) and at worst a bug (sigmoid of a sigmoid squashes everything into
0.5..0.73).

Warned:

    conv 16 k3 relu
    relu

Quiet:

    conv 16 k3 relu
""",
        ),
    ]
}


def lookup(code: str) -> Code | None:
    """The registry entry for a code, accepting any letter case."""
    return CODES.get(code.strip().upper())
