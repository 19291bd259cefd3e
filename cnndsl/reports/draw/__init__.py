"""`cnnc draw`: the architecture as a self-contained SVG diagram.

Everything drawn comes from the typed program (`TypedProgram`): the shapes,
the parameter counts, the block calls (`TypedLayer.calls`) and the residual
connections (`TypedResidual`). Nothing here computes a shape.

What the picture shows:

- Each layer that computes a new feature map or changes the shape (conv,
  pooling, flatten, linear) gets a box: an oblique prism whose height is the
  map's height H, whose receding depth is its width W and whose thickness
  along the flow is its channel count C, each on a log scale so that 224 and
  7 both read. Vectors (after `flatten`) are thin bars whose length is the
  feature count, on a log scale too. The type (`128x128x10`) is written under
  each box.
- The arrow into a box carries the layer that made it, in the .cnn notation
  (`conv 10 k3`), with the layers that keep the shape (batchnorm, dropout,
  activations) on the line below and the parameter count under them.
- A residual is a skip arc from where its input branches off to a (+) node;
  a projection shortcut's layers are written on the arc.
- The layers of one block call sit in a dashed frame titled with the call as
  written (`basic 64`) and its line.
- Long networks wrap into rows, breaking only between block calls or
  top-level layers (never inside a residual), so ResNet-34's 109 layers read
  as five rows of whole blocks.

Every leaf layer has exactly one element carrying `data-layer` (its index in
`program.layers`), `data-line` and `data-kind`, with a `<title>` (tooltip)
giving the PyTorch module, the line, the output type and the parameters.
The output is deterministic: the same program gives the same bytes.

The layers' own facets decide their look: `LayerKind.label` writes the
arrow's words, `LayerKind.diagram` gives the box's colour and legend entry.
Modules: `steps` (what is drawn, in forward order), `layout` (measuring,
rows, arcs), `svg` (the drawing and its serialisation), `html` (the page).

A symbolic program (`input HxWx3 where H >= 32, W >= 32`) is drawn at one
admissible size, by default its smallest (`TypedProgram.smallest_size`): the
program checked again at that size (`TypedProgram.instantiate`) gives the
boxes' proportions and the MACs, while the labels keep the symbolic types
(`(H+1)//2 x (W+1)//2 x 64`, on two lines when long) and the header says
`drawn at 32x32; sizes H >= 32, W >= 32`. Each box's tooltip and
`data-size` attribute give its type at the drawn size.
"""

from .html import render_html
from .steps import Step, build_steps, layer_words
from .svg import DrawnAt, drawn_at, render_svg

__all__ = ["DrawnAt", "Step", "build_steps", "drawn_at", "layer_words", "render_html", "render_svg"]
