"""Choose the files a post task publishes, and refuse at creation what is missing or not media."""

from __future__ import annotations

import random
from pathlib import Path

from api.domain.errors import invalid
from contract.materials import IMAGE, VIDEO, inside_roots as _inside, media_kind

__all__ = ["IMAGE", "VIDEO", "candidates", "comment_image", "media_kind", "pick"]

def _allowed(name: str, roots: list[Path], field: str) -> Path:
    """A relative name is read from the material library (the first root); nothing outside the roots,
    so a request can never make the service push a server file (keys, passwords) to a phone."""
    path = Path(name) if Path(name).is_absolute() else roots[0] / name
    if not _inside(path, roots):
        # The server's own paths are not the caller's to see: named by what sets them.
        raise invalid(f"{name} is outside the material folders (<data-dir>/materials and PHONEFARM_MATERIAL_ROOTS)",
                      {"field": field})
    return path


def _library_files(library: Path, tags: list[str], roots: list[Path]) -> list[Path]:
    """A library file's tags are the names of the folders it sits in, below the library."""
    if not library.is_dir():
        return []
    files = [p for p in sorted(library.rglob("*")) if p.is_file() and _inside(p, roots)]
    if not tags:
        return files
    wanted = {t.lower() for t in tags}
    return [p for p in files if wanted & {part.lower() for part in p.relative_to(library).parts[:-1]}]


def candidates(config: dict, library: Path, extra_roots: tuple[Path, ...] = ()) -> list[Path]:
    """The files a post may use; only from the material library and the extra allowed roots."""
    roots = [library, *extra_roots]
    kind = config["content_type"]
    if config["material_list"]:
        chosen = []
        for name in config["material_list"]:
            path = _allowed(name, roots, "script_config.material_list")
            if not path.is_file():
                raise invalid(f"Material {name} does not exist on the server", {"field": "script_config.material_list"})
            if media_kind(path) != kind:
                expected = "a video" if kind == VIDEO else "an image"
                raise invalid(f"Material {name} is not {expected}", {"field": "script_config.material_list"})
            chosen.append(path.resolve())
        return chosen
    if config["material_source"] == "localFolder":
        folder = _allowed(config["material_path"], roots, "script_config.material_path")
        if not folder.is_dir():
            raise invalid(f"material_path {config['material_path']} is not a folder on the server", {"field": "script_config.material_path"})
        files = sorted(p for p in folder.iterdir() if p.is_file() and _inside(p, roots))
    else:
        tags = [t.strip() for t in config["materials_tags"].split(",") if t.strip()]
        files = _library_files(library, tags, roots)
    usable = [p.resolve() for p in files if media_kind(p) == kind]
    if not usable:
        where = config["material_path"] if config["material_source"] == "localFolder" else "the material library (<data-dir>/materials)"
        raise invalid(f"No {'video' if kind == VIDEO else 'image'} found in {where}", {"field": "script_config"})
    return usable


def pick(config: dict, files: list[Path], rng: random.Random) -> list[str]:
    """An exact material_list is posted as given; otherwise one video or image_count images."""
    if config["material_list"]:
        return [str(p) for p in files]
    count = 1 if config["content_type"] == VIDEO else min(config["image_count"], len(files))
    return [str(p) for p in rng.sample(files, count)]


def comment_image(name: str, library: Path, extra_roots: tuple[Path, ...] = ()) -> str:
    """The server file a comment attaches: an image inside the material folders, as an absolute path."""
    field = {"field": "script_config.comment_image_path"}
    path = _allowed(name, [library, *extra_roots], "script_config.comment_image_path")
    if not path.is_file():
        raise invalid(f"comment_image_path {name} does not exist on the server", field)
    if media_kind(path) != IMAGE:
        raise invalid(f"comment_image_path {name} is not an image (JPEG, PNG, GIF or WebP)", field)
    return str(path.resolve())
