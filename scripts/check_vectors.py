#!/usr/bin/env python3
"""Re-derive every vector in tests/vectors/ with an independent RFC 8785 implementation.

Uses PyPI `rfc8785` and Python's `hashlib` only (install with `pip install rfc8785`; this
script installs nothing). Exits 0 when every vector matches, 1 on any mismatch, 2 when the
files or the `rfc8785` module are missing. Closing line: "N passed, M failed".

Numbers are parsed as IEEE 754 doubles (as JSON.parse and RFC 8785 / I-JSON do), see
scripts/make_vectors.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys

try:
    import rfc8785
except ImportError:
    print("check_vectors: the Python package rfc8785 is missing (pip install rfc8785)", file=sys.stderr)
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VEC_DIR = os.path.join(ROOT, "tests", "vectors")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
CONFIG_KEYS = {"workflow_type", "default_params", "required_tools", "required_retrievers",
               "base_template_id"}
WORKFLOW_TYPES = {"plain", "tools", "rag", "full"}
MIN_CANONICAL = 60
MIN_CONFIG = 10


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name} is not JSON")


def load(text: str):
    return json.loads(text, parse_int=float, parse_constant=_reject_constant)


def jcs(value) -> str:
    return rfc8785.dumps(value).decode("utf-8")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_value(cfg: dict) -> dict:
    return {
        "workflow_type": cfg["workflow_type"],
        "default_params": cfg["default_params"],
        "required_tools": sorted(cfg["required_tools"] or []),
        "required_retrievers": sorted(cfg["required_retrievers"] or []),
        "base_template_id": cfg["base_template_id"],
    }


def read_file(name: str):
    path = os.path.join(VEC_DIR, name)
    try:
        with open(path, encoding="utf-8") as f:
            return load(f.read())
    except OSError as e:
        print(f"check_vectors: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)


def main() -> int:
    passed = 0
    failures: list[str] = []
    names: set[str] = set()

    def fail(name: str, why: str) -> None:
        failures.append(f"{name}: {why}")

    def unique(name: str) -> bool:
        if name in names:
            fail(name, "duplicate vector name")
            return False
        names.add(name)
        return True

    canonical_vectors = read_file("canonical.json")
    for v in canonical_vectors:
        name = v.get("name", "<unnamed>")
        if not unique(name):
            continue
        try:
            got = jcs(load(v["input"]))
        except Exception as e:  # noqa: BLE001 - report any oracle failure as a vector failure
            fail(name, f"oracle cannot canonicalise input: {e}")
            continue
        ok = True
        if got != v["canonical"]:
            fail(name, f"canonical: file has {v['canonical']!r}, rfc8785 gives {got!r}")
            ok = False
        if not HEX64.match(v["sha256"]):
            fail(name, f"sha256 is not 64 lowercase hex digits: {v['sha256']!r}")
            ok = False
        elif sha256_hex(got) != v["sha256"]:
            fail(name, f"sha256: file has {v['sha256']}, hashlib gives {sha256_hex(got)}")
            ok = False
        # The canonical text must itself be canonical (a fixed point).
        if ok and jcs(load(got)) != got:
            fail(name, "canonical text is not a fixed point of canonicalisation")
            ok = False
        passed += ok

    config_vectors = read_file("config.json")
    for v in config_vectors:
        name = v.get("name", "<unnamed>")
        if not unique(name):
            continue
        cfg = v["config"]
        if set(cfg) != CONFIG_KEYS or cfg["workflow_type"] not in WORKFLOW_TYPES:
            fail(name, f"malformed config object: {sorted(cfg)}")
            continue
        got = jcs(config_value(cfg))
        ok = True
        if "canonical" in v and got != v["canonical"]:
            fail(name, f"canonical: file has {v['canonical']!r}, rfc8785 gives {got!r}")
            ok = False
        if not HEX64.match(v["config_hash"]):
            fail(name, f"config_hash is not 64 lowercase hex digits: {v['config_hash']!r}")
            ok = False
        elif sha256_hex(got) != v["config_hash"]:
            fail(name, f"config_hash: file has {v['config_hash']}, hashlib gives {sha256_hex(got)}")
            ok = False
        passed += ok

    if len(canonical_vectors) < MIN_CANONICAL:
        fail("canonical.json", f"only {len(canonical_vectors)} vectors, want >= {MIN_CANONICAL}")
    if len(config_vectors) < MIN_CONFIG:
        fail("config.json", f"only {len(config_vectors)} vectors, want >= {MIN_CONFIG}")

    for f in failures:
        print(f"FAIL {f}")
    print(f"canonical.json: {len(canonical_vectors)} vectors, config.json: {len(config_vectors)} vectors "
          f"(rfc8785 {getattr(rfc8785, '__version__', '?')})")
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
