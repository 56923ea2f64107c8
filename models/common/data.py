"""The image data set: photos and artwork from installed packages, a committed
manifest (file, package, licence as the package states it, split), and cached
crops at the training sizes.

The split is by *group* (a stereo pair or a before/after pair is one group, so a
near-duplicate can never sit on both sides), fixed by a hash of the group name and
committed in `manifest.csv`: every model family uses the same one, and held-out
photos are never used for training or calibration.

Licences: the manifest records each file's licence; training of a model that
ships uses only files whose licence allows redistributing a derived work under
Apache-2.0 (`TRAINABLE_LICENCES`). GPL and share-alike artwork is listed, not used.
"""
from __future__ import annotations

import csv
import fnmatch
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MANIFEST = Path(__file__).with_name("manifest.csv")
FIELDS = ("id", "package", "path", "kind", "licence", "group", "split")
SPLITS = ("train", "validation", "test")
TRAINABLE_LICENCES = {"Apache-2.0", "Apache-2.0 AND BSD-3-Clause", "BSD-3-Clause", "BSD-2-Clause",
                      "Expat", "MIT", "CC0-1.0", "CC-BY-4.0", "public-domain"}
CACHE_ENV = "TENSORSTAGE_DATA_CACHE"


class DataError(RuntimeError):
    pass


@dataclass(frozen=True)
class Entry:
    id: str
    package: str
    path: str
    kind: str      # photo (content) or artwork (a style candidate)
    licence: str
    group: str
    split: str

    @property
    def trainable(self) -> bool:
        return self.licence in TRAINABLE_LICENCES


# ---- where the files come from -------------------------------------------------

OPENCV_DATA = "/usr/share/doc/opencv-doc/examples/data"
# Colour photographs only: calibration boards, synthetic shapes, logos, text and
# grey images are left out. Pairs of views of one scene share a group.
OPENCV_PHOTOS = {
    "HappyFish.jpg": "happyfish", "aero1.jpg": "aero", "aero3.jpg": "aero",
    "aloeL.jpg": "aloe", "aloeR.jpg": "aloe", "apple.jpg": "apple", "baboon.jpg": "baboon",
    "board.jpg": "board", "building.jpg": "building", "butterfly.jpg": "butterfly",
    "ela_original.jpg": "ela", "fruits.jpg": "fruits", "graf1.png": "graf", "graf3.png": "graf",
    "home.jpg": "home", "left.jpg": "leftright", "right.jpg": "leftright",
    "leuvenA.jpg": "leuven", "leuvenB.jpg": "leuven",
    "licenseplate_motion.jpg": "licenseplate", "messi5.jpg": "messi", "orange.jpg": "orange",
    "pca_test1.jpg": "pca_test", "rubberwhale1.png": "rubberwhale", "rubberwhale2.png": "rubberwhale",
    "smarties.png": "smarties", "squirrel_cls.jpg": "squirrel", "stuff.jpg": "stuff",
}
OPENCV_ARTWORK = {"starry_night.jpg": "starry_night"}
# scikit-image's bundled colour photos, with the licence its docstrings state.
SKIMAGE_PHOTOS = {
    "astronaut.png": "public-domain", "chelsea.png": "CC0-1.0", "coffee.png": "CC0-1.0",
    "rocket.jpg": "public-domain", "hubble_deep_field.jpg": "public-domain",
}
WALLPAPER_PACKAGES = {  # package -> install root
    "mate-backgrounds": "/usr/share/backgrounds/mate",
    "lomiri-wallpapers-16.04": "/usr/share/backgrounds",
}
# Wallpapers are photographs except these folders of drawn and abstract art.
ARTWORK_FOLDERS = ("abstract", "desktop")
APT_PACKAGES = ("opencv-doc",) + tuple(WALLPAPER_PACKAGES)


def _skimage_root() -> Path | None:
    try:
        import skimage
    except ImportError:
        return None
    return Path(skimage.__file__).parent / "data"


def debian_licences(package: str, path: Path | None = None) -> list[tuple[str, str]]:
    """(files glob, licence) pairs from a package's machine-readable copyright file."""
    path = path or Path(f"/usr/share/doc/{package}/copyright")
    if not path.exists():
        return []
    pairs, files = [], None
    for block in path.read_text(errors="replace").split("\n\n"):
        fields = re.findall(r"^(Files|License):[ \t]*(.*(?:\n[ \t]+.*)*)", block, re.M)
        info = {k: v for k, v in fields}
        if "Files" in info and "License" in info:
            files = info["Files"].split()
            licence = info["License"].splitlines()[0].strip()
            pairs.extend((glob, licence) for glob in files)
    return pairs


def licence_for(package: str, path: str, pairs: list[tuple[str, str]]) -> str:
    """The most specific copyright paragraph matching `path`, a path in the
    package's source tree. Where the installed layout drops leading source
    folders (wallpapers installed flat), a longer glob is matched by its tail."""
    best, best_len = "unknown", -1
    parts = Path(path).parts
    for glob, licence in pairs:
        glob_parts = glob.split("/")
        pattern = "/".join(glob_parts[-len(parts):]) if len(glob_parts) > len(parts) else glob
        if fnmatch.fnmatch(path, pattern):
            specificity = len(glob.replace("*", ""))
            if specificity > best_len:
                best, best_len = licence, specificity
    return best


def split_of(group: str) -> str:
    """train 70 %, validation 10 %, test 20 %, fixed by the group's name."""
    bucket = int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 70 else "validation" if bucket < 80 else "test"


def discover() -> list[Entry]:
    """Every usable file on this machine, with its licence and split."""
    entries: list[Entry] = []
    if Path(OPENCV_DATA).is_dir():
        pairs = debian_licences("opencv-doc")
        for kind, table in (("photo", OPENCV_PHOTOS), ("artwork", OPENCV_ARTWORK)):
            for name, group in table.items():
                path = f"{OPENCV_DATA}/{name}"
                if os.path.exists(path):
                    g = f"opencv-doc/{group}"
                    entries.append(Entry(f"opencv-doc/{name}", "opencv-doc", path, kind,
                                         licence_for("opencv-doc", f"samples/data/{name}", pairs),
                                         g, split_of(g)))
    root = _skimage_root()
    if root is not None:
        for name, licence in SKIMAGE_PHOTOS.items():
            if (root / name).exists():
                g = f"scikit-image/{Path(name).stem}"
                entries.append(Entry(f"scikit-image/{name}", "scikit-image", f"skimage/data/{name}",
                                     "photo", licence, g, split_of(g)))
    for package, base in WALLPAPER_PACKAGES.items():
        pairs = debian_licences(package)
        listing = Path(f"/var/lib/dpkg/info/{package}.list")
        if not listing.exists():
            continue
        for line in listing.read_text().splitlines():
            if line.startswith(base) and re.search(r"\.(jpe?g|png)$", line, re.I):
                rel = os.path.relpath(line, base)
                kind = "artwork" if Path(rel).parts[0] in ARTWORK_FOLDERS else "photo"
                # Several sizes of one picture are one group.
                g = f"{package}/{re.sub(r'_[0-9]+x[0-9]+$', '', Path(rel).stem)}"
                entries.append(Entry(f"{package}/{rel}", package, line, kind,
                                     licence_for(package, rel, pairs), g, split_of(g)))
    return sorted(entries, key=lambda e: e.id)


def write_manifest(entries: list[Entry], path: Path = MANIFEST) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(FIELDS)
        for e in entries:
            writer.writerow([getattr(e, k) for k in FIELDS])


def read_manifest(path: Path = MANIFEST) -> list[Entry]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for n, row in enumerate(rows, start=2):
        if row.get("split") not in SPLITS:
            raise DataError(f"{path}: line {n}: split {row.get('split')!r} is not one of {SPLITS}")
    return [Entry(**{k: row[k] for k in FIELDS}) for row in rows]


def resolve(entry: Entry) -> Path:
    """Where the entry's file is on this machine."""
    if entry.package == "scikit-image":
        root = _skimage_root()
        if root is None:
            raise DataError(f"{entry.id}: scikit-image is not installed (pip install 'tensorstage[train]')")
        return root / Path(entry.path).name
    return Path(entry.path)


def select(entries, *, split=None, kind=None, trainable_only=False, available_only=True):
    out = []
    for e in entries:
        if split and e.split != split or kind and e.kind != kind:
            continue
        if trainable_only and not e.trainable:
            continue
        if available_only:
            try:
                if not resolve(e).exists():
                    continue
            except DataError:
                continue
        out.append(e)
    return out


def missing_packages(entries) -> list[str]:
    missing = set()
    for e in entries:
        try:
            present = resolve(e).exists()
        except DataError:
            present = False
        if not present:
            missing.add(e.package)
    return sorted(missing)


def install_hint(packages) -> str:
    apt = [p for p in packages if p in APT_PACKAGES]
    pip = [p for p in packages if p not in APT_PACKAGES]
    hints = []
    if apt:
        hints.append("sudo apt-get install " + " ".join(apt))
    if pip:
        hints.append("pip install 'tensorstage[train]'")
    return " ; ".join(hints)


# ---- images and cached crops -----------------------------------------------------

def load_rgb(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"{path}: cannot be read as an image")
    return np.ascontiguousarray(image[..., ::-1])


def crops(image: np.ndarray, size: int, count: int, rng: np.random.Generator, smallest: float = 0.4) -> np.ndarray:
    """`count` random square crops, each covering `smallest` to all of the
    shorter side, resized to `size` (area interpolation), mirrored at random."""
    import cv2

    h, w = image.shape[:2]
    out = np.empty((count, size, size, 3), np.uint8)
    for i in range(count):
        side = int(min(h, w) * rng.uniform(smallest, 1.0))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = cv2.resize(image[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
        out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return out


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    base = override or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "tensorstage" / "data"
    return Path(base)


def crop_file(cache: Path, split: str, size: int) -> Path:
    return cache / f"crops_{split}_{size}.npy"


def prepare(sizes=(128, 256), crops_per_image=16, *, cache=None, packages=None,
            trainable_only=True, progress=print, seed=0) -> dict:
    """Cache crops of every available photo per split and size; returns figures.
    Crops are deterministic (seeded per file), so two machines build the same cache."""
    entries = read_manifest()
    if packages:
        entries = [e for e in entries if e.package in packages]
    photos = select(entries, kind="photo", trainable_only=trainable_only)
    missing = missing_packages([e for e in entries if e.kind == "photo"])
    if not photos:
        raise DataError("no photos of the manifest are on this machine; install them: "
                        + install_hint(missing or APT_PACKAGES))
    if missing:
        progress(f"data: not installed, skipped: {', '.join(missing)} ({install_hint(missing)})")
    cache = cache_dir(cache)
    cache.mkdir(parents=True, exist_ok=True)
    figures = {"photos": len(photos), "missing_packages": missing}
    for split in SPLITS:
        chosen = [e for e in photos if e.split == split]
        figures[f"{split}_photos"] = len(chosen)
        for size in sizes:
            arrays = []
            for n, e in enumerate(chosen, start=1):
                rng = np.random.default_rng([seed, size, int(hashlib.sha256(e.id.encode()).hexdigest()[:8], 16)])
                arrays.append(crops(load_rgb(resolve(e)), size, crops_per_image, rng))
                progress(f"data: {split} {size}px {n}/{len(chosen)} {e.id}")
            stack = np.concatenate(arrays) if arrays else np.zeros((0, size, size, 3), np.uint8)
            tmp = crop_file(cache, split, size).with_suffix(".tmp.npy")
            np.save(tmp, stack)
            shutil.move(tmp, crop_file(cache, split, size))  # never a half-written cache
            figures[f"{split}_{size}_crops"] = int(stack.shape[0])
    return figures


def load_crops(split: str, size: int, cache=None) -> np.ndarray:
    path = crop_file(cache_dir(cache), split, size)
    if not path.exists():
        raise DataError(f"{path} is missing: run `tensorstage data prepare --sizes {size}` first")
    return np.load(path, mmap_mode="r")


def held_out_photos(size: int = 256, limit: int | None = None, split: str = "test") -> tuple[list[str], np.ndarray]:
    """The test split's photos on this machine (never trained on), centre squares at `size`
    (`split="validation"`: the photos to choose a recipe or a setting on)."""
    import cv2

    from models.common.teacher import center_square

    entries = select(read_manifest(), split=split, kind="photo")
    if limit:
        entries = entries[:limit]
    images = [cv2.resize(center_square(load_rgb(resolve(e))), (size, size),
                         interpolation=cv2.INTER_AREA) for e in entries]
    if not images:
        raise RuntimeError("no held-out photos on this machine: " + install_hint(["opencv-doc", "scikit-image"]))
    return [e.id for e in entries], np.stack(images)
