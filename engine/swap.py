"""What `/tensorstage/swap NODE PATH` may do: change an option its node type
declares swappable, to a model file of a kind that node accepts, found under
an allowed folder: the patch's own folder, the shipped models, and the
folders the patch lists in `[osc] swap_roots`. Anything else (an output path,
a file elsewhere on the machine, a SavedModel folder that can carry
file-reading graph ops) is refused with a reason, which the OSC server counts.
"""

from __future__ import annotations

from pathlib import Path

from engine.patch import Patch

SHIPPED_MODELS = Path(__file__).resolve().parents[1] / "models"   # found by path, never imported
SWAP_OPTION = "path"


class SwapRefused(ValueError):
    pass


def patch_folder(patch: Patch) -> Path:
    """Where relative paths of the patch start (the working folder for a patch with no file)."""
    return Path(patch.path).resolve().parent if patch.path is not None else Path.cwd()


def allowed_roots(patch: Patch) -> list[Path]:
    roots = [SHIPPED_MODELS] + ([patch_folder(patch)] if patch.path is not None else [])
    return roots + [(patch_folder(patch) / Path(str(root)).expanduser()).resolve()
                    for root in patch.osc.get("swap_roots", [])]


def check_swap(patch: Patch, node: str, value: str) -> Path:
    """The resolved model file a swap of NODE to VALUE would load, or SwapRefused."""
    decl = patch.nodes.get(node)
    if decl is None:
        raise SwapRefused(f"no node {node!r} in the patch")
    cls = decl.node_class
    if SWAP_OPTION not in cls.swappable:
        swappable = [n for n, d in patch.nodes.items() if SWAP_OPTION in d.node_class.swappable]
        raise SwapRefused(f"node {node!r} ({decl.type}) has no model to swap"
                          + (f"; model nodes: {', '.join(swappable)}" if swappable else ""))
    if not value or len(value) > 1024 or "\x00" in value:
        raise SwapRefused("a model path must be 1 to 1024 characters")
    # Symlinks and .. resolved before the folder check.
    target = (patch_folder(patch) / Path(value).expanduser()).resolve()
    if target.suffix not in cls.swap_suffixes or not target.is_file():
        raise SwapRefused(f"{value}: not a {' or '.join(cls.swap_suffixes)} file")
    roots = allowed_roots(patch)
    if not any(target.is_relative_to(root) for root in roots):
        raise SwapRefused(f"{value}: outside the folders models may be swapped from "
                          f"({', '.join(map(str, roots))}; add one with [osc] swap_roots)")
    return target
