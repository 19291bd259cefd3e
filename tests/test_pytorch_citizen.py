"""Generated modules are first-class PyTorch citizens (CPU).

The committed examples/*.py are imported by path, like any hand-written model
file, and must work with torch.compile, torch.export, state_dict, deepcopy,
pickle (also across processes through the import hook), an optimizer, and
DistributedDataParallel on the gloo backend. `--device cuda` and `--device mps`
take the CPU's path when the device exists, and are a one-line error when not.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import os
import pickle
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from cnndsl.cli.main import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLASSES = {"quiz": "Quiz", "lenet5": "LeNet5", "resnet18": "ResNet18"}
REPRESENTATIVE = ["quiz", "resnet18"]
KEY = {"quiz": "features.0.weight", "resnet18": "features.0.weight"}  # a randomly initialised tensor


def example_class(name: str):
    """The class from the committed examples/NAME.py, imported by path."""
    module_name = f"cnndsl_citizen_{name}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # pickle finds classes through sys.modules
        spec.loader.exec_module(module)
    return getattr(module, CLASSES[name])


def concrete_shape(cls) -> tuple[int, ...]:
    """`input_shape`, with a symbolic input's varying sizes (None) set to an odd 65x49 or more."""
    smallest = getattr(cls, "smallest_input_shape", cls.input_shape)
    return tuple(max(low, wanted) if size is None else size for size, low, wanted in zip(cls.input_shape, smallest, (0, 65, 49)))


def batch_for(cls, size: int = 2, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((size, *concrete_shape(cls)), generator=generator)


def built(name: str, seed: int = 0):
    cls = example_class(name)
    torch.manual_seed(seed)
    return cls().eval(), cls


# -- torch.compile and torch.export ---------------------------------------------


@pytest.mark.slow
def test_torch_compile_runs_and_matches_eager():
    # One small model: inductor's first compile costs tens of seconds here.
    model, cls = built("quiz")
    x = batch_for(cls)
    with torch.no_grad():
        eager = model(x)
        compiled = torch.compile(model)(x)
    assert compiled.shape == (2, *cls.output_shape)
    torch.testing.assert_close(compiled, eager, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_torch_export_has_the_declared_input_and_output_shapes(name):
    model, cls = built(name)
    x = batch_for(cls)
    exported = torch.export.export(model, (x,))
    placeholders = {node.name: node for node in exported.graph.nodes if node.op == "placeholder"}
    (user_input,) = exported.graph_signature.user_inputs
    assert tuple(placeholders[user_input].meta["val"].shape) == (2, *concrete_shape(cls))
    (output_node,) = [node for node in exported.graph.nodes if node.op == "output"]
    (result,) = output_node.args[0]
    assert tuple(result.meta["val"].shape) == (2, *cls.output_shape)
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(x), model(x))


def test_a_symbolic_model_exports_with_dynamic_height_and_width():
    """ResNet-18 (`input HxWx3 where H >= 32, W >= 32`): one export serves every size."""
    model, cls = built("resnet18")
    assert cls.input_shape == (3, None, None) and cls.smallest_input_shape == (3, 32, 32)
    # Export guards on the map before `avgpool to 1` not being 1x1 already,
    # (H+31)//32 != 1: so its dynamic range starts one above the bound, at 33.
    height = torch.export.Dim("H", min=33, max=512)
    width = torch.export.Dim("W", min=33, max=512)
    exported = torch.export.export(model, (batch_for(cls),), dynamic_shapes={"x": {2: height, 3: width}})
    with torch.no_grad():
        for size in ((33, 33), (97, 131), (224, 224)):
            x = torch.randn(2, 3, *size)
            torch.testing.assert_close(exported.module()(x), model(x))


# -- state, copies, pickles -----------------------------------------------------


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_state_dict_saves_and_loads_into_a_fresh_instance(name):
    model, cls = built(name, seed=1)
    x = batch_for(cls, size=1)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    fresh, _ = built(name, seed=2)
    assert not torch.equal(fresh.state_dict()[KEY[name]], model.state_dict()[KEY[name]])
    buffer.seek(0)
    missing, unexpected = fresh.load_state_dict(torch.load(buffer, weights_only=True))
    assert (missing, unexpected) == ([], [])
    assert list(fresh.state_dict()) == list(model.state_dict())
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x))


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_deepcopy_and_pickle_give_equal_independent_models(name):
    model, cls = built(name)
    x = batch_for(cls, size=1)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    with torch.no_grad():
        expected = model(x)
        for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
            assert type(clone) is cls
            assert torch.equal(clone(x), expected)
            for value in clone.state_dict().values():
                value.add_(1)  # independent storage: the original must not change
            assert all(torch.equal(value, before[key]) for key, value in model.state_dict().items())


@pytest.fixture
def hooked_path(tmp_path):
    """A directory on sys.path holding a .cnn file, with the import hook installed."""
    import cnndsl

    shutil.copy(EXAMPLES / "quiz.cnn", tmp_path / "citizen_quiz.cnn")
    sys.path.insert(0, str(tmp_path))
    cnndsl.install_import_hook()
    try:
        yield tmp_path
    finally:
        cnndsl.uninstall_import_hook()
        sys.path.remove(str(tmp_path))
        sys.modules.pop("citizen_quiz", None)


def test_a_pickle_made_through_the_import_hook_loads_in_another_process(hooked_path):
    import citizen_quiz  # compiled from citizen_quiz.cnn by the hook

    torch.manual_seed(3)
    model = citizen_quiz.Quiz().eval()
    x = batch_for(citizen_quiz.Quiz)
    (hooked_path / "model.pkl").write_bytes(pickle.dumps(model))
    torch.save(x, hooked_path / "x.pt")
    script = textwrap.dedent(
        f"""
        import pickle, sys, torch, cnndsl
        sys.path.insert(0, {str(hooked_path)!r})
        cnndsl.install_import_hook()
        with open({str(hooked_path / 'model.pkl')!r}, "rb") as handle:
            model = pickle.load(handle)
        assert type(model).__module__ == "citizen_quiz", type(model).__module__
        with torch.no_grad():
            torch.save(model(torch.load({str(hooked_path / 'x.pt')!r})), {str(hooked_path / 'y.pt')!r})
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with torch.no_grad():
        assert torch.equal(torch.load(hooked_path / "y.pt"), model(x))


# -- training -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["quiz", "lenet5"])
def test_a_few_optimizer_steps_reduce_the_loss(name):
    model, cls = built(name)
    model.train()
    x = batch_for(cls, size=8)
    target = torch.arange(8) % cls.output_shape[0]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(p.grad is not None for p in model.parameters())
    assert losses[-1] < losses[0], losses


DDP_WORKER = """
import importlib.util, os, sys
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

rank, world, port, example, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
spec = importlib.util.spec_from_file_location("lenet5", example)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
torch.manual_seed(100 + rank)  # different initial weights: DDP must broadcast rank 0's
model = DistributedDataParallel(module.LeNet5())
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
generator = torch.Generator().manual_seed(rank)  # each rank trains on its own data
for step in range(3):
    x = torch.randn((4, *module.LeNet5.input_shape), generator=generator)
    y = torch.randint(0, 10, (4,), generator=generator)
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
torch.save({"state": model.module.state_dict(), "data": x}, out)
dist.barrier()
dist.destroy_process_group()
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_distributed_data_parallel_on_gloo_keeps_both_ranks_identical(tmp_path):
    if not torch.distributed.is_available():
        pytest.skip("this torch has no torch.distributed")
    worker = tmp_path / "ddp_worker.py"
    worker.write_text(DDP_WORKER)
    port = _free_port()
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "MASTER_ADDR": "127.0.0.1"}
    outputs = [tmp_path / f"rank{rank}.pt" for rank in range(2)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(worker), str(rank), "2", str(port), str(EXAMPLES / "lenet5.py"), str(outputs[rank])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for rank in range(2)
    ]
    try:
        results = [process.communicate(timeout=240) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, (_, err) in zip(processes, results):
        assert process.returncode == 0, err
    first, second = (torch.load(path, weights_only=True) for path in outputs)
    assert not torch.equal(first["data"], second["data"])  # the ranks saw different batches
    assert list(first["state"]) == list(second["state"])
    for key, value in first["state"].items():
        assert torch.equal(value, second["state"][key]), key
    torch.manual_seed(100)
    initial = example_class("lenet5")().state_dict()
    assert any(not torch.equal(initial[key], value) for key, value in first["state"].items())  # it trained


# -- devices --------------------------------------------------------------------


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


DEVICES = {"cuda": torch.cuda.is_available, "mps": _mps_available}


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_an_absent_device_is_a_one_line_error_that_writes_nothing(device, tmp_path, capsys):
    if DEVICES[device]():
        pytest.skip(f"this machine has {device}")
    source = tmp_path / "quiz.cnn"
    shutil.copy(EXAMPLES / "quiz.cnn", source)
    output = tmp_path / "out.py"
    assert main(["build", str(source), "-o", str(output), "--device", device]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("cnnc: error: ")
    assert device in captured.err.lower() or device.upper() in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz.cnn"]
    # An existing output stays byte-identical.
    output.write_bytes(b"# keep me\n")
    assert main(["build", str(source), "-o", str(output), "--device", device]) == 2
    assert output.read_bytes() == b"# keep me\n"
    assert main(["verify", str(source), "--device", device]) == 2
    assert capsys.readouterr().err.count("\n") == 2


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_a_present_device_verifies_like_the_cpu(device, capsys):
    if not DEVICES[device]():
        pytest.skip(f"no {device} device here")
    assert main(["verify", str(EXAMPLES / "quiz.cnn"), "--device", device]) == 0
    out = capsys.readouterr().out
    assert f"verified on {device}" in out
    assert main(["verify", str(EXAMPLES / "quiz.cnn"), "--device", "cpu"]) == 0
    cpu_out = capsys.readouterr().out
    assert out.replace(f"on {device}", "on cpu").replace(f"{device}:0", "cpu") == cpu_out
