"""Packaging: the metadata lives in setup.cfg; this ships the top-level plugins/ folder with the install."""

from pathlib import Path

from setuptools import setup

setup(data_files=[("share/anclora/plugins", [str(p) for p in sorted(Path("plugins").glob("*.py"))])])
