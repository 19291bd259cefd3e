"""Files for the `cnnc` commands: reading a source, writing an output without ever leaving half of it.

Also the exit codes and the usage error every command raises (INTERFACE.md:
0 clean, 1 errors in the program, 2 a usage error).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pathlib is imported by the writes that need it, not by every command
    from pathlib import Path

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command line or the files it names (exit 2)."""


# No .cnn file needs more; the cap also stops reads of endless files (/dev/zero).
MAX_SOURCE_BYTES = 16 * 1024 * 1024


def read_source(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
        if len(data) > MAX_SOURCE_BYTES:
            raise UsageError(f"cannot read '{path}': it is larger than {MAX_SOURCE_BYTES // 2**20} MB")
        return data
    except IsADirectoryError:
        raise UsageError(f"cannot read '{path}': it is a directory") from None
    except OSError as error:
        raise UsageError(f"cannot read '{path}': {error.strerror or error}") from None


def write_atomically(path: Path, text: str) -> None:
    """Write next to the target, then rename: readers never see half a file."""
    directory = output_directory(path)
    try:
        import tempfile

        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise UsageError(f"cannot write '{path}': {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())  # the new file is complete on disk before it replaces the old
        mode = 0o666 & ~_umask()
        if path.exists():
            mode = path.stat().st_mode & 0o777
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise UsageError(f"cannot write '{path}': {error.strerror or error}") from None
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def write_all_atomically(files: dict[Path, bytes]) -> None:
    """Write every file next to its target, then rename them all: none is replaced unless all could be written."""
    import tempfile

    temporaries: dict[Path, str] = {}
    try:
        for path, data in files.items():
            try:
                fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=output_directory(path))
            except OSError as error:
                raise UsageError(f"cannot write '{path}': {error.strerror or error}") from None
            temporaries[path] = temporary
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, (path.stat().st_mode & 0o777) if path.exists() else 0o666 & ~_umask())
        for path in list(temporaries):
            os.replace(temporaries.pop(path), path)
    except OSError as error:
        raise UsageError(f"cannot write: {error.strerror or error}") from None
    finally:
        for temporary in temporaries.values():
            try:
                os.unlink(temporary)
            except OSError:
                pass


def output_directory(path: Path) -> Path:
    """The directory an output goes to; a usage error when it cannot hold files."""
    from pathlib import Path

    directory = path.parent if str(path.parent) else Path(".")
    if directory.is_dir():
        if path.is_dir():
            raise UsageError(f"cannot write '{path}': it is a directory")
        return directory
    blocker = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise UsageError(f"cannot write '{path}': '{blocker}' is a file, not a directory")
    raise UsageError(f"cannot write '{path}': the directory '{directory}' does not exist")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
