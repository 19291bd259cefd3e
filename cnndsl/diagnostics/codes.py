"""The registry of diagnostic codes: one entry per code, with its explanation.

Codes are stable: a code, once published, keeps its meaning. `cnnc explain
CODE` prints `explanation`; docs/diagnostics.md is generated from this table.

Each explanation shows a small wrong and right example (`Wrong:`/`Right:`,
for warnings `Warned:`/`Quiet:`, for notes `Noted:`/`Quiet:`), indented by four spaces. tests/test_codes.py
runs every example through the checker (adding `input 32x32x3` when the
example has no input line) and checks that the wrong one gives the code and
the right one gives no diagnostic at all, so the examples cannot drift from
what the compiler does.
"""

from __future__ import annotations

from ..record import Record

_set = object.__setattr__


class Code(Record):
    """One diagnostic code: its identifier, short name, summary and long form."""

    __slots__ = ("code", "name", "summary", "explanation")
    code: str
    name: str
    summary: str
    explanation: str

    def __init__(self, code: str, name: str, summary: str, explanation: str) -> None:
        _set(self, "code", code)
        _set(self, "name", name)
        _set(self, "summary", summary)
        _set(self, "explanation", explanation)

    @property
    def severity(self) -> str:
        """E: error; W: warning; N: note (a fact worth knowing, not a problem)."""
        return {"W": "warning", "N": "note"}.get(self.code[0], "error")


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
which must balance; a `{` goes on the same line as the statement it opens,
and a statement after a `}` needs its own line or a `;`. Only letters,
digits, `_`, `.`, `+`, `-`, `=`, `,`, `;`, `(`, `)`, `{`, `}`, `>=` and `#`
comments may appear outside comments. The message says what was expected at
that point, in words.

Wrong:

    conv 10 k3 @ relu
    repeat 2 { conv 10 k3

Right:

    conv 10 k3 relu
    repeat 2 { conv 10 k3 }

After a syntax error the rest of the statement is skipped and checking goes
on at the next statement, so every independent error is reported in one run.
The skipped statement's type is unknown, so nothing after it is reported
because of it.
""",
        ),
        _code(
            "E0002",
            "invalid-encoding",
            "the file is not valid UTF-8",
            """
.cnn files are read as UTF-8. A file in another encoding (or a binary file)
cannot be decoded; the diagnostic points at line 1, column 1 and names the
first byte offset that is not UTF-8 and its value. Nothing else in the file
is checked.

Wrong (a comment saved as Latin-1, where `é` is the single byte 0xe9):

    # café
    conv 16 k3

Right (the same comment saved as UTF-8, where `é` is 0xc3 0xa9):

    # café
    conv 16 k3

Fix: save the file as UTF-8 (every editor can). Names and keywords are
ASCII; only comments may contain other characters.
""",
        ),
        _code(
            "E0010",
            "unknown-layer",
            "a statement names no known layer or block",
            """
The first word of a statement is a layer (conv, pool, avgpool, batchnorm,
dropout, flatten, linear, an activation such as relu), a structural keyword
(network, input, block, repeat, residual, shortcut) or the name of a block
defined in the file. Anything else is reported with the closest valid name
as a did-you-mean; a statement that starts with a number is told that it
lacks its layer name.

Wrong:

    convv 10 k3

Right:

    conv 10 k3
""",
        ),
        _code(
            "E0011",
            "unknown-option",
            "a layer was given an option or argument it does not take",
            """
Each layer takes a fixed set of options, written as one letter glued to its
value (`k3`, `s2`, `p1`, `d2`, `g4`, `k3x5`), spelled out with `=`
(`kernel=3`, `stride=2`), or as flags (`same`, `nobias`, `ceil`). A conv or
linear layer may end with one activation (`relu`). Layers such as `flatten`
and `relu` take no arguments at all. The diagnostic names the closest option
the layer accepts, or lists them.

Wrong:

    conv 10 x3
    pool 2 k3
    conv 10 k3 kernal=3

Right:

    conv 10 k3
    pool 2 s2
    conv 10 kernel=3

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
probability of `dropout`, the size of `input`, the name after `network`.

Wrong:

    conv 10
    linear

Right:

    conv 10 k3
    flatten
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
`3x5`). A window option takes one integer for both axes or `HxW`; the input
takes height, width and channels. A block parameter used where its value does
not fit (a decimal as a filter count) is reported here too.

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
Each option may be given once per layer, whichever way it is written
(`k3` and `kernel=5` are the same option); with two, it is unclear which one
was meant. The second one is reported and points back at the first.

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
activation (put a second one on its own line).

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
letter or `_`, then letters, digits or `_`. It must not be a Python keyword
(or soft keyword), must not start with `__`, and must not collide with a name
the generated module imports or defines (`torch`, `nn`, and the helper
classes `Residual`, `Concat`, `Split`, `Gate`). A network name also must not shadow a Python builtin (`list`, `super`) or the
names its methods use (`self`, `x`). Names are never renamed silently: the
help suggests a valid one.

Wrong:

    network class
    block __init__(c) { conv c k3 }
    __init__ 16

Right:

    network Classifier
    block stem(c) { conv c k3 }
    stem 16
""",
        ),
        _code(
            "E0020",
            "missing-input",
            "the program has no `input` statement",
            """
Every network states the shape of one input sample, height x width x
channels, before its first layer: `input 32x32x3` is a 32x32 RGB image,
PyTorch's `(N, 3, 32, 32)`. Without it no layer can be typed.

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
A network has exactly one input: the generated module's `forward` takes one
tensor. The first `input` counts and types the layers; every later one is
reported and points back at the first. To build networks for several input
sizes, write one file per size (or keep the layers in a block and call it
from each file).

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
`network NAME` names the generated class; it may be given once, anywhere at
the top level. Without it the class is named after the file (`quiz.cnn`
gives `Quiz`). The second `network` line is reported and points back at the
first.

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
follow a `residual { ... }` (on the same line as its `}` or the next one).

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
window does not fit: the input is too small for the kernel. The message
shows the arithmetic with your numbers; the help names the padding that keeps
the size (stride 1) or the least padding that makes it fit. Add padding, use
a smaller kernel, or pool less before this layer.

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
Convolution and pooling work on feature maps (height x width x channels).
After `flatten` (or `linear`) the data is a vector, so these layers no longer
apply: PyTorch would fail at run time with a dimension error. Move the layer
before `flatten`.

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
flattened first; the note says how many features `flatten` would give, and
that is the input size cnnc gives the `nn.Linear`. This is PyTorch's
`mat1 and mat2 shapes cannot be multiplied`, caught before anything runs.
To apply a linear layer to the channels at every position of the map instead
(ConvNeXt's pointwise layers), write `linear N pixelwise`: the map stays a map.

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
so `g` must divide both the input channels and the number of filters; a
channel shuffle (`shuffle G`) splits its channels into `G` equal groups, so
`G` must divide them. The help names the nearest group count that does.

Wrong (24 input channels, 32 filters: 5 divides neither):

    input 32x32x24
    conv 32 k3 g5

Right:

    input 32x32x24
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
the padding explicitly instead; for an odd kernel F, `p` of (F - 1)/2 makes
the output the input size divided by the stride, rounded up.

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
Filters, kernel, stride, dilation, groups, features, pooling windows and
input sizes are at least 1; padding is at least 0 and, for pooling, at most
half the window (PyTorch's limit); a repeat count is at least 0 (`repeat 0`
is allowed, with warning W0002); a dropout probability `P` satisfies
`0 <= P < 1`; a normalisation's `eps=` is greater than 0 and batchnorm's
`momentum=` is from 0 to 1.

Wrong:

    conv 0 k3
    pool 2 s0
    dropout 1.0
    bn momentum=1.5

Right:

    conv 16 k3
    pool 2
    dropout 0.5
    bn momentum=0.01
""",
        ),
        _code(
            "E0040",
            "wrong-argument-count",
            "a block call passes the wrong number of arguments",
            """
A block call passes exactly one value per parameter, in order, separated by
spaces (no parentheses). The message points at the definition; the help
spells the call with the parameter names.

Wrong:

    block vgg(c, n) { repeat n { conv c k3 p1 relu }; pool 2 }
    vgg 64

Right:

    block vgg(c, n) { repeat n { conv c k3 p1 relu }; pool 2 }
    vgg 64 2
""",
        ),
        _code(
            "E0041",
            "recursive-block",
            "a block calls itself, directly or through other blocks",
            """
Blocks are expanded when the program is checked, so a block that calls
itself would expand forever. The message lists the chain of calls. To apply
a block several times, call it inside `repeat`.

Wrong:

    block a(c) { conv c k3; a c }
    a 16

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
Inside a block a parameter can stand wherever an integer can (`conv c k3`,
`kernel=f`, `repeat n`). A name that is not a parameter of the enclosing
block has no value; the note lists the block's parameters.

Wrong:

    block down(c) { conv n k3 }
    down 16

Right:

    block down(c) { conv c k3 }
    down 16
""",
        ),
        _code(
            "E0043",
            "duplicate-block",
            "a block name is defined twice, hides a layer, or repeats a parameter",
            """
Each block has one definition, a block may not take the name of a layer
(`conv`, `relu`, ...) or of a structural keyword, and each of its parameters
has its own name.

Wrong:

    block conv(c) { conv c k3 }
    block pair(c, c) { conv c k3 }

Right:

    block conv3(c) { conv c k3 }
    conv3 16
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
            "E0051",
            "branch-mismatch",
            "the branches of a concat or split end at different heights or widths",
            """
`concat { branch { A } branch { B } ... }` runs every branch on the same input
and joins their outputs on the channel axis (`torch.cat(dim=1)`), so every
branch must end with a feature map of one height and width; the channels add
up. For a symbolic input the sizes must be equal at every admissible size:
the message names the smallest size where they differ. The error points at
the branch that differs from the others, the notes list every branch's type,
and the help names the layer that changes the size (often a missing padding).

Wrong (a 5x5 convolution without padding shrinks its branch to 24x24):

    input 28x28x32
    concat {
      branch { conv 16 k1 }
      branch { conv 16 k5 }
    }

Right:

    input 28x28x32
    concat {
      branch { conv 16 k1 }
      branch { conv 16 k5 p2 }
    }
""",
        ),
        _code(
            "E0052",
            "split-indivisible",
            "a split's input channels are not divisible by its number of branches",
            """
`split { branch { } branch { } ... }` divides its input's channels into one
equal part per branch, in order (`x.chunk(n, dim=1)`), so the channel count
must be a multiple of the number of branches. The help gives the nearest
channel counts that divide, and branch counts that divide the channels.

Wrong (5 channels cannot be halved):

    input 8x8x5
    split { branch { } branch { conv 2 k1 } }

Right:

    input 8x8x6
    split { branch { } branch { conv 3 k1 } }
""",
        ),
        _code(
            "E0053",
            "gate-mismatch",
            "a gate's output does not broadcast onto its input",
            """
`gate { BODY }` multiplies its input by BODY's output, element by element,
with PyTorch's broadcasting: each of the output's height, width and channels
must equal the input's or be 1, so that the product has the input's type.
A 1x1xC output scales each channel (squeeze-and-excitation), an HxWx1 output
scales each position (spatial attention), an HxWxC output each element. The
message names the axes that do not fit.

Wrong (the excitation gives 16 channels for a 32-channel map):

    input 28x28x32
    gate { avgpool to 1; conv 8 k1 relu; conv 16 k1; sigmoid }

Right:

    input 28x28x32
    gate { avgpool to 1; conv 8 k1 relu; conv 32 k1; sigmoid }
""",
        ),
        _code(
            "E0054",
            "empty-join",
            "a concat or split without branches",
            """
A concat joins the outputs of its branches, and a split divides the channels
among them: with no branch there is nothing to join (`torch.cat` of nothing
fails at run time). Write two or more `branch { }` inside; an empty branch is
the input itself.

Wrong:

    input 8x8x16
    concat { }

Right:

    input 8x8x16
    concat { branch { } branch { conv 16 k3 p1 } }
""",
        ),
        _code(
            "E0060",
            "program-too-large",
            "the program expands to more layers than the limit",
            """
Repeats and block calls multiply. The checker computes how many layers a
statement expands to before expanding it, and refuses programs beyond
100,000 leaf layers (real networks have hundreds to a few thousand), so that
a typo like `repeat 1000000000` costs nothing and is reported at once.

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
would build the model anyway. Literals with more than twelve digits are
reported without being read.

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
Deeper structure is almost certainly a mistake (or generated text gone wrong)
and would make the generated module unreadable; the limit also keeps the
checker's work bounded for any input. Braces nested more than 1,000 levels
deep are not even read: cnnc reports the brace and stops reading the file at
the top-level statement it is in, which is not checked, nor anything after it.

Wrong (65 levels, abbreviated):

    repeat 1 { repeat 1 { ... 65 times ... relu ... } }

Right:

    repeat 1 { repeat 1 { repeat 1 { relu } } }

Fix: flatten the structure, or use `repeat N` instead of nesting.
""",
        ),
        _code(
            "E0063",
            "statement-too-long",
            "a statement has more words than any statement needs",
            """
A statement is one layer, one block call or one header (`block`, `repeat`,
`residual`): a handful of words. One with more than 1,000 words (names,
numbers and options, and signs such as `=`, `,` or `(`: `kernel=3` is three) is almost
surely generated text gone wrong (a loop that wrote its options again and
again, a file with its line breaks lost). cnnc reports it at its first word
and does not read it: the statement is not checked, and, as after a syntax
error, the layers after it are not typed. A block or repeat header that long
is skipped with its body. The limit keeps `cnnc check` quick on any input:
reading a statement costs a few microseconds per word.

Wrong (abbreviated: the same option 700,000 times):

    conv 10 k3 k3 k3 k3 k3 k3 k3 k3 k3 k3 k3 k3 ...

Right:

    conv 10 k3
""",
        ),
        _code(
            "E0064",
            "file-too-long",
            "a file has more statements than any network needs",
            """
A network needs hundreds to a few thousand statements, even written out layer
by layer; `repeat` and blocks write repeated layers once. A file with more
than 20,000 statements (layers, block calls and headers, counted inside
braces too) is almost surely generated text gone wrong, and so is a file of more than
100,000 words and signs (names, numbers, braces, commas: all the examples
together have about 8,000; a statement skipped by E0063 counts as one).
cnnc reports the first statement past either limit and stops reading there:
the top-level statement it is in and everything after it are not checked,
and, as after a syntax error, not typed. The limits keep `cnnc check` within
a second or two on any input: reading and checking a word costs 5 to 25
microseconds.

Wrong (abbreviated: 200,000 layers written out):

    conv 10 k3 p1
    relu
    conv 10 k3 p1
    relu
    ...

Right:

    repeat 1000 { conv 10 k3 p1; relu }
""",
        ),
        _code(
            "E0070",
            "symbolic-input",
            "a symbolic input size or its 'where' bounds are written wrongly",
            """
`input HxWx3 where H >= 32, W >= 32` gives the height and width as size
symbols: upper case (`H`, `W`, `IMG_H`: letters A-Z, digits and `_`, starting
with a letter), so that the lower-case `x` separators stay unambiguous. The
channels are always a number (the first layer's weights depend on them).
Each bound names a symbol of the input, once, with a whole number >= 1.

Wrong:

    input hxwx3 where Q >= 32

Right:

    input HxWx3 where H >= 32, W >= 32
""",
        ),
        _code(
            "E0071",
            "size-can-vanish",
            "an output size reaches zero for some admissible symbolic input size",
            """
With a symbolic input, every output size is a function of the symbols, and
it only grows with them. So a layer fits every admissible input exactly when
it fits the smallest one, the bound after `where`. When it does not, the
error names the largest size that still fails (`for H = 31, the output
height after line 9 is 0`) and the bound that fixes it. Without a
written bound there is no such error: the bound is then the smallest size
every layer accepts, which `cnnc summary` reports.

Wrong (a 5x5 window needs at least 5 rows):

    input HxWx3 where H >= 4, W >= 8
    conv 8 k5

Right:

    input HxWx3 where H >= 5, W >= 8
    conv 8 k5
""",
        ),
        _code(
            "E0072",
            "size-not-fixed",
            "flatten of a feature map whose size depends on a symbolic input size",
            """
`flatten` turns HxWxC into H*W*C features, and the `nn.Linear` after it needs
that number when the model is built. With a symbolic input the number would
change with every image size. Adaptive pooling (`avgpool to 1`, or `pool to
7x7`) makes the size fixed again, whatever the input: that is how ResNet and
most modern classifiers accept any image size.

Wrong:

    input HxWx3 where H >= 32, W >= 32
    conv 16 k3 p1
    flatten

Right:

    input HxWx3 where H >= 32, W >= 32
    conv 16 k3 p1
    avgpool to 1
    flatten
""",
        ),
        _code(
            "E0080",
            "unflatten-size-mismatch",
            "unflatten's map size does not hold exactly the vector's features",
            """
`unflatten HxWxC` turns a vector into a feature map, reading its features in
PyTorch's (C, H, W) order; H*W*C must equal the vector's length. The help
names the map with the same height and width that fits, when there is one.

Wrong:

    flatten
    linear 1000
    unflatten 4x4x64

Right:

    flatten
    linear 1024
    unflatten 4x4x64
""",
        ),
        _code(
            "E0081",
            "nothing-left",
            "a transposed convolution or a padding leaves no rows or columns",
            """
A transposed convolution's output is `(in - 1)*S - 2*P + D*(F - 1) + O + 1`
along each axis: with much padding `P` on a small input it is below 1.
Reflection padding needs more rows than it pads (`P < in`), circular padding
at least as many (`P <= in`). For a symbolic input size the same rule is
E0071 (a size below the written bound fails) or raises the computed bound.

Wrong:

    input 2x2x8
    upconv 8 k2 p3

Right:

    input 2x2x8
    upconv 8 k2 s2
""",
        ),
        _code(
            "E0082",
            "unknown-kept-map",
            "a join names a map that is not kept in this body",
            """
`cat NAME` and `add NAME` join the map kept by an earlier `keep NAME` in the
same body: the top level, or one block, residual or repeat body. A block
keeps and joins its own maps; a map kept outside a body cannot be joined
inside it.

Wrong:

    keep e1
    conv 8 k3 p1
    cat e2

Right:

    keep e1
    conv 8 k3 p1
    cat e1
""",
        ),
        _code(
            "E0083",
            "skip-size-mismatch",
            "a kept map and the current one cannot be joined: sizes or channels differ",
            """
`cat NAME` concatenates the kept map (first) and the current one on the
channels: their heights and widths must be equal for every admissible input
size. `cat NAME crop` crops the kept map to the centre first (the original
U-Net's "copy and crop"): it must be larger by an even amount, so that the
crop is centred. `add NAME` also needs equal channels. For a symbolic input
the message names the smallest admissible size that fails and the residues
where it fails, and the help the `where` constraint that would fix it.

Wrong:

    input 32x32x3
    conv 8 k3
    keep e1
    pool 2
    conv 16 k3
    upconv 8 k2 s2
    cat e1

Right:

    input 32x32x3
    conv 8 k3
    keep e1
    pool 2
    conv 16 k3
    upconv 8 k2 s2
    cat e1 crop
""",
        ),
        _code(
            "E0084",
            "crossing-skips",
            "skips must nest: a map kept inside a joined part is used after the join",
            """
Joining `a` turns everything since `keep a` into one part of the network;
a map kept inside that part is gone after it. Skips nest like brackets: the
last map kept is the first joined.

Wrong:

    keep a
    conv 3 k3 p1
    keep b
    conv 3 k3 p1
    add a
    add b

Right:

    keep a
    conv 3 k3 p1
    keep b
    conv 3 k3 p1
    add b
    add a
""",
        ),
        _code(
            "E0085",
            "instance-norm-one-position",
            "instance normalisation of a map with one position",
            """
`instancenorm` normalises each channel of each sample over the map's
positions. On a 1x1 map there is one value per channel: its variance is
zero, and PyTorch refuses the input ("Expected more than 1 spatial element
when training"), in eval mode too, because `nn.InstanceNorm2d` keeps no
running statistics by default and always normalises with the input's own.

For a symbolic input the map must have two positions at every admissible
size. With one symbol (`input HxHx3`, or one fixed axis of 1), a computed
bound is raised to the smallest size that gives two (`cnnc summary` shows
it); a written bound that admits a 1x1 map is this error, naming the largest
such size and the bound that fixes it. With two symbols shrunk to 1x1 at
their bounds, either may grow: a computed bound is raised (both when both
are, `input HxWx3` then admits H >= 64, W >= 64 though 32x64 would do);
two written bounds are this error, asking for one of them to grow
(`where H >= 64`).

Wrong:

    input 8x8x3
    conv 16 k3 s2 p1
    pool to 1x1
    instancenorm

Normalise before the map shrinks to one position, or use a norm over the
channels (`layernorm`).

Right:

    input 8x8x3
    conv 16 k3 s2 p1
    instancenorm
    pool to 1x1
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
input size would use them. Only real input counts: leftover positions that
fall in the padding are not reported, nor are windows narrower than their
stride (a 1x1 stride-2 convolution skips rows by design). Layers marked
`ceil` round up instead and are not reported.

Warned (130 is even, a 3-wide window with stride 2 leaves one column):

    input 130x130x3
    conv 16 k3 s2

Quiet:

    input 131x131x3
    conv 16 k3 s2

With a symbolic input (`input HxWx3`) the rows dropped depend on the size,
and the warning says for which sizes: `for odd H, pool leaves the last row of
its input unused`.
""",
        ),
        _code(
            "W0002",
            "no-op-layer",
            "a layer or statement that does nothing",
            """
Some layers leave their input unchanged: `dropout 0`, `stochdepth 0`,
`shuffle 1`, `flatten` of something that is already a vector; `repeat 0 { ... }`
(written with a literal 0) removes its body; a `concat` or `split` of one
branch is that branch. They cost nothing at run time but usually mean a typo.
The body of `repeat 0` is still checked for mistakes.

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
0.5..0.73). Different activations in a row are not reported.

Warned:

    conv 16 k3 relu
    relu

Quiet:

    conv 16 k3 relu
""",
        ),
        _code(
            "W0004",
            "unused-block",
            "a block is defined but never called",
            """
A block that no statement calls contributes nothing to the network. It is
usually a leftover or a misspelt call. Because it is never expanded, its body
has no argument values: it is checked only for mistakes that do not depend on
them (unknown layers, options and names, wrong argument counts, literal values
out of range), and its shapes are not checked at all.

Warned:

    block stem(c) { conv c k3 p1 relu }
    conv 16 k3

Quiet:

    block stem(c) { conv c k3 p1 relu }
    stem 16
""",
        ),
        _code(
            "W0005",
            "empty-gate",
            "a gate with an empty body multiplies its input by itself",
            """
`gate { BODY }` computes `x * BODY(x)`; with nothing inside, BODY(x) is x and
the gate squares its input, which is seldom what was meant. The gate's layers
(for squeeze-and-excitation: pool to 1x1, squeeze, excite, a sigmoid) go
inside the braces.

Warned:

    input 8x8x16
    gate { }

Quiet:

    input 8x8x16
    gate { avgpool to 1; conv 4 k1 relu; conv 16 k1; sigmoid }
""",
        ),
        _code(
            "W0006",
            "misplaced-stochastic-depth",
            "stochastic depth outside the end of a residual body",
            """
`stochdepth P` (`droppath`) zeroes the whole input of a sample while
training, with probability P. At the end of a residual body that drops only
the body: the shortcut still carries the input on, so the block is skipped
(the "stochastic depth" of Huang et al., as torchvision's EfficientNet and
ConvNeXt use it). Anywhere else it drops the whole map, and every layer
after it sees zeros for that sample. The warning is given for the program as
expanded: a block whose body ends in `stochdepth` may be called as the last
statement of a residual body.

Warned:

    conv 16 k3 p1 relu
    stochdepth 0.1

Quiet:

    conv 16 k3 p1 relu
    residual { conv 16 k3 p1; bn; stochdepth 0.1 }
""",
        ),
        _code(
            "W0007",
            "kept-map-unused",
            "a map is kept and never joined",
            """
`keep NAME` does nothing until `cat NAME` or `add NAME` joins the map.

Warned:

    keep e1
    conv 3 k3 p1

Quiet:

    keep e1
    conv 3 k3 p1
    add e1
""",
        ),
        _code(
            "N0001",
            "field-exceeds-input",
            "one unit's receptive field is larger than the whole input",
            """
A note, not a warning. The receptive field of a unit is the input region it
depends on: along each axis `r = r_prev + D*(F - 1)*jump` for every window
on the way (kernel F, dilation D; the jump is the product of the strides
before it). Once `r` is larger than the input, every unit's field reaches
past the input's borders, so at the borders what later layers add is
padding, not image. Deep networks do this on purpose at small inputs (the
theoretical field of ResNet-50's last stage is 427 pixels, at any input
size); the note tells you where it happens, once, at the first layer.
`cnnc summary` prints every layer's field; whole-input fields (a linear
layer after `flatten`, `avgpool to 1`) are not reported. The note is given
for a fixed input size only: a symbolic input's field is a number, but
whether it exceeds depends on the size (`cnnc summary --size` checks one).

Noted (two 5x5 windows after a stride-2 pool see 18 pixels of a 12x12 input):

    input 12x12x3
    pool 2
    conv 8 k5 p2
    conv 8 k5 p2

Quiet:

    input 32x32x3
    pool 2
    conv 8 k5 p2
    conv 8 k5 p2
""",
        ),
    ]
}


def lookup(code: str) -> Code | None:
    """The registry entry for a code, accepting any letter case."""
    return CODES.get(code.strip().upper())
