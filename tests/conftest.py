"""Root conftest: loads the shared fixture plugins in tests/plugins/ (one module per component)."""

from pathlib import Path

pytest_plugins = sorted(
    f"tests.plugins.{p.stem}" for p in (Path(__file__).parent / "plugins").glob("[!_]*.py")
)
