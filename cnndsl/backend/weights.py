"""Weights by structure: copy one module's parameters and buffers into another that computes the same.

`transfer_weights(source, target)` pairs every parameter and buffer of
`source` with its counterpart in `target` by where it sits in the
computation, not by its name or registration order, then copies them all at
once. torchvision's RegNet registers a block's projection before its body and
adds `proj(x) + f(x)`; ConvNeXt's block registers its layer scale before its
layers; a module cnnc generates registers everything in the order the .cnn
writes it. All of them transfer.

How (docs/design.md, "Weights by structure"): both modules are traced with
torch.fx and abstracted to parameter-flow graphs (`flowgraph.py`: units that
use weights, joins that combine paths, everything else transparent). Equal
output digests mean the two graphs have the same structure; a walk from the
two outputs in step then pairs node with node: an ordered node's inputs in
order, a commutative join's inputs by digest, trying the other assignments
of equal-digest inputs only when a shared node makes the first one
inconsistent. The pairs are a graph isomorphism, and weights copied along
any isomorphism give the same function (given equal transparent operations,
which the abstraction does not see).
"""

from __future__ import annotations

import difflib
import itertools
from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn

from . import flowgraph
from .flowgraph import UNIT, FlowGraph, FlowNode, StateEntry

# How many differences an error lists.
SHOWN = 5
# Work allowed for trying assignments of structurally identical inputs (pairs visited).
SEARCH_LIMIT = 200_000
# The largest table (source units x target units) a difference is explained with in full.
EDIT_CELLS = 1_000_000


class WeightTransferError(ValueError):
    """The two modules' weights do not correspond; nothing was copied.

    `problems` holds one line per difference found (the message lists the first few).
    """

    def __init__(self, summary: str, problems: list[str] | tuple[str, ...] = ()) -> None:
        self.summary = summary
        self.problems = tuple(problems)
        lines = [summary, *(f"  {problem}" for problem in self.problems[:SHOWN])]
        if len(self.problems) > SHOWN:
            lines.append(f"  ... and {len(self.problems) - SHOWN} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class TransferReport:
    """What `transfer_weights` copied.

    pairs: (source key, target key) for every target entry written, in the
    target's state_dict order (a tensor registered under two names, a shared
    module, is paired under each of its target names).
    units: (source path, target path) for every matched unit, in canonical order.
    unused_source, unused_target: state_dict keys no forward pass reads, left
    alone (only with strict=False; with strict=True they are an error).
    """

    pairs: tuple[tuple[str, str], ...]
    units: tuple[tuple[str, str], ...]
    unused_source: tuple[str, ...] = ()
    unused_target: tuple[str, ...] = ()

    @property
    def copied(self) -> int:
        return len(self.pairs)


def match_parameters(source: nn.Module, target: nn.Module, *, strict: bool = True) -> list[tuple[str, str]]:
    """(source key, target key) for every parameter and buffer, paired by structure; raises WeightTransferError."""
    return list(_match(source, target, strict).pairs)


def transfer_weights(source: nn.Module, target: nn.Module, *, strict: bool = True) -> TransferReport:
    """Copy every parameter and buffer of `source` into `target`, matched by structure.

    Both modules are traced with torch.fx (in eval mode; their modes are
    restored), so both must be traceable: data-dependent control flow is not.
    Each use of weights in `source` is paired with the use at the same place
    in `target`'s computation, whatever the modules call or order them; the
    tensors of a pair must have equal shapes. BatchNorm running statistics and
    counters are copied with the parameters.

    strict=True (the default): every state_dict entry of both modules must be
    paired. strict=False leaves alone the entries that neither forward pass
    reads (an unused auxiliary head); the ones that are read must still pair.

    Raises WeightTransferError, listing the first differences by module path
    and shape, and leaves `target` untouched, if the structures differ.
    """
    report = _match(source, target, strict)
    source_state = source.state_dict()
    # A fresh state_dict of the target, entries replaced: its `_metadata` (the
    # versions some modules' loaders read, MNASNet's) stays with it.
    new_state = target.state_dict()
    for source_key, target_key in report.pairs:
        new_state[target_key] = source_state[source_key].detach()
    with torch.no_grad():
        target.load_state_dict(new_state, strict=True)
    return report


# -- matching -----------------------------------------------------------------


def _match(source: nn.Module, target: nn.Module, strict: bool) -> TransferReport:
    source_graph = _graph(source, "source")
    target_graph = _graph(target, "target")
    if source_graph.output.digest != target_graph.output.digest:
        raise _structure_error(source_graph, target_graph)
    node_pairs = _isomorphism(source_graph.output, target_graph.output)
    unit_pairs = [(s, t) for s, t in node_pairs if s.kind == UNIT]
    key_pairs = _pair_tensors(unit_pairs)
    pairs = [
        (source_key, alias)
        for source_key, target_key in key_pairs.items()
        for alias in target_graph.aliases[target_key]  # the same tensor under another name gets the same value
    ]
    unused_source = _unused(source_graph, {alias for key in key_pairs for alias in source_graph.aliases[key]})
    unused_target = _unused(target_graph, {target_key for _, target_key in pairs})
    if strict and (unused_source or unused_target):
        problems = [f"source `{key}` is not used by the source's forward pass" for key in unused_source]
        problems += [f"target `{key}` is not used by the target's forward pass" for key in unused_target]
        raise WeightTransferError(
            "the forward passes leave some parameters or buffers unused, so they cannot be paired "
            "(strict=False leaves them alone); nothing was copied",
            problems,
        )
    order = {key: index for index, key in enumerate(target_graph.state_keys)}
    pairs.sort(key=lambda pair: order[pair[1]])
    canonical = {id(node): index for index, node in enumerate(source_graph.canonical_units())}
    units = sorted({(s.path, t.path): canonical[id(s)] for s, t in unit_pairs}.items(), key=lambda item: item[1])
    return TransferReport(tuple(pairs), tuple(unit for unit, _ in units), tuple(unused_source), tuple(unused_target))


def _graph(module: nn.Module, role: str) -> FlowGraph:
    try:
        return flowgraph.build(module)
    except flowgraph.TraceFailed as error:
        raise WeightTransferError(
            f"torch.fx cannot trace the {role} ({type(module).__name__}), so its structure is unknown: {error}",
            [
                "torch.fx records one graph for every input, so a forward pass whose control flow "
                "depends on tensor values (`if x.sum() > 0:`) cannot be traced"
            ],
        ) from error


def _isomorphism(source_root: FlowNode, target_root: FlowNode) -> list[tuple[FlowNode, FlowNode]]:
    """Pair the nodes of two graphs with equal root digests so that every edge maps onto an edge.

    A walk from the roots in step. Equal digests guarantee equal kinds,
    labels and input digests, so an ordered node's inputs pair in order, and
    a commutative one's pair within each group of equal digests. A group of
    two or more is a choice: any assignment is right unless one node is
    reached twice (shared by two paths) and the choice pairs it with two
    different nodes; then the walk returns to the last choice and tries the
    next assignment (`SEARCH_LIMIT` bounds the work).
    """
    forward: dict[int, FlowNode] = {}
    backward: dict[int, FlowNode] = {}
    trail: list[FlowNode] = []  # source nodes in the order they were paired
    work: list = [(source_root, target_root)]
    choices: list[tuple[int, list, list[FlowNode], object]] = []
    steps = 0
    while work:
        steps += 1
        if steps > SEARCH_LIMIT:
            raise WeightTransferError(
                "the structure has too many interchangeable parts to pair them consistently "
                f"within {SEARCH_LIMIT:,} steps; nothing was copied"
            )
        item = work.pop()
        if item[0] == "choose":
            _, group, candidates = item
            permutations = itertools.permutations(candidates)
            choices.append((len(trail), list(work), group, permutations))
            work.extend(zip(group, next(permutations)))
            continue
        source_node, target_node = item
        paired = forward.get(id(source_node))
        if paired is target_node:
            continue
        if (source_node.kind, source_node.label) != (target_node.kind, target_node.label):
            # Equal digests, different nodes: a collision of 128-bit hashes, never expected; refuse rather than guess.
            raise WeightTransferError(
                f"internal: source {source_node.describe()} and target {target_node.describe()} "
                "have the same digest; nothing was copied"
            )
        if paired is None and id(target_node) not in backward:
            forward[id(source_node)] = target_node
            backward[id(target_node)] = source_node
            trail.append(source_node)
            work.extend(_input_pairs(source_node, target_node))
            continue
        # A node reached twice was paired differently: revisit the last choice.
        work = _backtrack(choices, trail, forward, backward)
        if work is None:
            raise WeightTransferError(
                "the two structures agree but share nodes differently: "
                f"source {source_node.describe()} would pair with two different target nodes; nothing was copied"
            )
    by_id = {id(node): node for node in trail}
    return [(by_id[key], node) for key, node in forward.items()]


def _input_pairs(source_node: FlowNode, target_node: FlowNode) -> list:
    if not source_node.commutative:
        return list(reversed(list(zip(source_node.inputs, target_node.inputs))))
    groups: dict[bytes, tuple[list[FlowNode], list[FlowNode]]] = {}
    for node in source_node.inputs:
        groups.setdefault(node.digest, ([], []))[0].append(node)
    for node in target_node.inputs:
        groups[node.digest][1].append(node)
    work: list = []
    for sources, targets in groups.values():
        if len(sources) == 1:
            work.append((sources[0], targets[0]))
        else:
            work.append(("choose", sources, targets))
    return work


def _backtrack(choices, trail, forward, backward):
    """Undo to the last choice with an assignment left and return the work list to resume with (None: none left)."""
    while choices:
        trail_length, work, group, permutations = choices[-1]
        while len(trail) > trail_length:
            node = trail.pop()
            del backward[id(forward.pop(id(node)))]
        assignment = next(permutations, None)
        if assignment is None:
            choices.pop()
            continue
        return [*work, *zip(group, assignment)]
    return None


def _pair_tensors(unit_pairs: list[tuple[FlowNode, FlowNode]]) -> dict[str, str]:
    """source key -> target key for the tensors of matched units; every source and target key once."""
    pairs: dict[str, str] = {}
    reverse: dict[str, str] = {}
    problems: list[str] = []
    for source_unit, target_unit in unit_pairs:
        matched = _pair_entries(source_unit.state, target_unit.state)
        if matched is None:
            problems.append(
                f"source {source_unit.describe()} and target {target_unit.describe()} have the same shapes "
                "but their tensors' names do not say which is which"
            )
            continue
        for source_entry, target_entry in matched:
            known = pairs.get(source_entry.key, target_entry.key)
            known_reverse = reverse.get(target_entry.key, source_entry.key)
            if known != target_entry.key or known_reverse != source_entry.key:
                problems.append(
                    f"`{source_entry.key}` and `{target_entry.key}` are shared differently: "
                    "one module uses the same weights in two places where the other uses two"
                )
            pairs[source_entry.key] = target_entry.key
            reverse[target_entry.key] = source_entry.key
    if problems:
        raise WeightTransferError(
            "the units correspond but their tensors cannot be paired; nothing was copied", problems
        )
    return pairs


def _pair_entries(source: tuple[StateEntry, ...], target: tuple[StateEntry, ...]):
    """Pair two units' tensors: by name when both use the same names, else by (role, shape) when that is unambiguous."""
    by_name = {entry.local: entry for entry in target}
    if sorted(entry.local for entry in source) == sorted(by_name):
        pairs = [(entry, by_name[entry.local]) for entry in source]
        if all((s.role, s.shape) == (t.role, t.shape) for s, t in pairs):
            return pairs
    kinds = Counter((entry.role, entry.shape) for entry in source)
    if any(count > 1 for count in kinds.values()):
        return None
    by_kind = {(entry.role, entry.shape): entry for entry in target}
    return [(entry, by_kind[(entry.role, entry.shape)]) for entry in source]


def _unused(graph: FlowGraph, used: set[str]) -> list[str]:
    return [key for key in graph.state_keys if key not in used]


# -- explaining a difference ---------------------------------------------------


def _structure_error(source: FlowGraph, target: FlowGraph) -> WeightTransferError:
    source_units = source.canonical_units(key=_tolerant_key)
    target_units = target.canonical_units(key=_tolerant_key)
    problems = _unit_differences(source_units, target_units)
    if not problems:
        problems = [_connection_difference(source.output, target.output)]

    def count(units: list[FlowNode]) -> str:
        tensors = sum(len(unit.state) for unit in units)
        return f"{len(units)} unit{'s' * (len(units) != 1)} ({tensors} tensor{'s' * (tensors != 1)})"

    return WeightTransferError(
        f"the two modules differ in structure, so their weights cannot be paired; nothing was copied "
        f"(source: {count(source_units)}, target: {count(target_units)}; differences in order from the input):",
        problems,
    )


def _tolerant_key(node: FlowNode):
    """Order a commutative join's inputs in a way that survives a shape difference: longest path first, then digest."""
    return (-node.depth, node.kind, node.digest)


def _unit_differences(source: list[FlowNode], target: list[FlowNode]) -> list[str]:
    """The units that have no counterpart, or a counterpart of other shapes, in a shortest edit script.

    A unit missing on one side and present with the same shapes elsewhere on
    the other has moved (a cat's operands in another order, a layer on the
    other path): it is reported as such, once.
    """
    differences = _edit_script(source, target)
    unclaimed = [unit for kind, unit, _ in differences if kind == "target only"]
    moves: dict[int, FlowNode] = {}  # id(source unit) -> the target unit it moved to
    for kind, unit, _ in differences:
        moved = (
            next((other for other in unclaimed if other.label == unit.label), None) if kind == "source only" else None
        )
        if moved is not None:
            unclaimed.remove(moved)
            moves[id(unit)] = moved
    moved_targets = {id(unit) for unit in moves.values()}
    problems = []
    for kind, unit, other in differences:
        if kind == "replaced":
            problems.append(f"source {unit.describe()} vs target {other.describe()}")
        elif id(unit) in moves:
            problems.append(
                f"source {unit.describe()} and target {moves[id(unit)].describe()} have the same shapes "
                "but are connected at different places (operands in another order, or on another path)"
            )
        elif kind == "source only":
            problems.append(f"source {unit.describe()} has no counterpart in the target")
        elif id(unit) not in moved_targets:
            problems.append(f"target {unit.describe()} has no counterpart in the source")
    return problems


def _edit_script(source: list[FlowNode], target: list[FlowNode]) -> list[tuple[str, FlowNode, FlowNode | None]]:
    """The fewest replacements, deletions and insertions that turn one label sequence into the other (Levenshtein).

    ("replaced", source unit, target unit), ("source only", unit, None),
    ("target only", unit, None), in order from the input. A shortest script
    names the blocks one network has more of (ResNet-18 against ResNet-34),
    where difflib's longest-match heuristic can pair the wrong runs. Beyond
    EDIT_CELLS cells of the table, difflib's quicker alignment is used.
    """
    rows, columns = len(source), len(target)
    if rows * columns > EDIT_CELLS:
        return _difflib_script(source, target)
    # cost[i][j]: edits between source[i:] and target[j:].
    cost = [[0] * (columns + 1) for _ in range(rows + 1)]
    for i in range(rows, -1, -1):
        for j in range(columns, -1, -1):
            if i == rows or j == columns:
                cost[i][j] = (rows - i) + (columns - j)
            else:
                same = source[i].label == target[j].label
                cost[i][j] = min(cost[i + 1][j + 1] + (0 if same else 1), cost[i + 1][j] + 1, cost[i][j + 1] + 1)
    script: list[tuple[str, FlowNode, FlowNode | None]] = []
    i = j = 0
    # Among shortest scripts, prefer a match, then a deletion or insertion,
    # then a replacement: two units swapped read as a move, not as two replacements.
    while i < rows or j < columns:
        both = i < rows and j < columns
        if both and source[i].label == target[j].label and cost[i][j] == cost[i + 1][j + 1]:
            i, j = i + 1, j + 1
        elif i < rows and cost[i][j] == cost[i + 1][j] + 1:
            script.append(("source only", source[i], None))
            i += 1
        elif j < columns and cost[i][j] == cost[i][j + 1] + 1:
            script.append(("target only", target[j], None))
            j += 1
        else:
            script.append(("replaced", source[i], target[j]))
            i, j = i + 1, j + 1
    return script


def _difflib_script(source: list[FlowNode], target: list[FlowNode]) -> list[tuple[str, FlowNode, FlowNode | None]]:
    matcher = difflib.SequenceMatcher(
        a=[unit.label for unit in source], b=[unit.label for unit in target], autojunk=False
    )
    script: list[tuple[str, FlowNode, FlowNode | None]] = []
    for tag, s_start, s_end, t_start, t_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        replaced = min(s_end - s_start, t_end - t_start) if tag == "replace" else 0
        script += [("replaced", source[s_start + k], target[t_start + k]) for k in range(replaced)]
        script += [("source only", unit, None) for unit in source[s_start + replaced : s_end]]
        script += [("target only", unit, None) for unit in target[t_start + replaced : t_end]]
    return script


def _connection_difference(source: FlowNode, target: FlowNode) -> str:
    """Same units in the same order, connected differently: where, found by walking down from the outputs."""
    consumer = "the output"
    while True:
        if source.kind != target.kind or source.label != target.label or len(source.inputs) != len(target.inputs):
            return (
                f"the units agree but are connected differently: {consumer} takes "
                f"{source.describe()} in the source and {target.describe()} in the target"
            )
        if source.commutative:
            remaining = Counter(node.digest for node in target.inputs)
            remaining.subtract(node.digest for node in source.inputs)
            left_source = [node for node in source.inputs if remaining[node.digest] < 0]
            left_target = [node for node in target.inputs if remaining[node.digest] > 0]
        else:
            differing = [(s, t) for s, t in zip(source.inputs, target.inputs) if s.digest != t.digest]
            left_source = [differing[0][0]] if differing else []
            left_target = [differing[0][1]] if differing else []
        if len(left_source) != 1 or len(left_target) != 1:
            return (
                "the units agree but are connected differently: the inputs of "
                f"source {source.describe()} differ from those of target {target.describe()}"
            )
        consumer = f"`{source.path}`" if source.kind == UNIT else source.describe()
        source, target = left_source[0], left_target[0]
