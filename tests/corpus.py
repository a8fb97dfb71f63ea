"""Load the request corpus in tests/requests/: `.http` files (escaped raw bytes) plus `.json` expectations.

The escape convention is described in tests/requests/README.md.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

REQUESTS_DIR = Path(__file__).resolve().parent / "requests"

_REPEAT = re.compile(r"\{\{(\d+)\*(.*?)\}\}", re.S)
_ESCAPE = re.compile(r"\\(r|n|t|0|\\|x[0-9a-fA-F]{2})")
_SIMPLE = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\x00", "\\": b"\\"}


def decode_http(text):
    """Turn the escaped text of a `.http` file into the exact request bytes."""
    text = text.replace("\r", "").replace("\n", "")  # line breaks in the file are layout only
    text = _REPEAT.sub(lambda m: m.group(2) * int(m.group(1)), text)
    stray = re.sub(_ESCAPE, "", text)
    if "\\" in stray:
        raise ValueError(f"unknown escape near {stray[stray.index(chr(92)) :][:20]!r}")
    if any(ord(c) > 0x7E or (ord(c) < 0x20) for c in text):
        raise ValueError("raw non-printable or non-ASCII character: write it as an escape")
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        out += text[pos : m.start()].encode("ascii")
        code = m.group(1)
        out += bytes([int(code[1:], 16)]) if code.startswith("x") else _SIMPLE[code]
        pos = m.end()
    out += text[pos:].encode("ascii")
    return bytes(out)


@dataclass
class Case:
    kind: str  # "valid" or "invalid"
    name: str
    data: bytes
    spec: dict

    @property
    def args(self):
        return tuple(self.spec.get("args", ()))

    @property
    def status(self):
        return self.spec.get("status", 200 if self.kind == "valid" else None)


def load(kind):
    cases = []
    for path in sorted((REQUESTS_DIR / kind).glob("*.http")):
        spec_path = path.with_suffix(".json")
        if not spec_path.exists():
            raise FileNotFoundError(f"{path.name} has no {spec_path.name}")
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        cases.append(Case(kind, path.stem, decode_http(path.read_text(encoding="ascii")), spec))
    orphans = {p.stem for p in (REQUESTS_DIR / kind).glob("*.json")} - {c.name for c in cases}
    if orphans:
        raise FileNotFoundError(f"expectations without a request in {kind}/: {sorted(orphans)}")
    return cases
