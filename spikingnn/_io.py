"""Writing files so that nothing on disk is ever left half-written.

Every file spikingnn writes (downloads, checkpoints, saved models, weights) goes to a temporary file in the
destination folder and is renamed over the target only once complete: ``os.replace`` is atomic on POSIX and
Windows, so an interrupted write leaves either the old file or none, never a truncated one.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it to ``path``, on error delete it.

    >>> with atomic_write("model.npz") as f:   # doctest: +SKIP
    ...     np.savez(f, weights=w)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    # mkstemp creates the file readable by its owner only; give the result the permissions of a plain open().
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_name, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
