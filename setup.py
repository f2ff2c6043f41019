"""What the wheel carries besides the code: the compiled catalogs and the migrations.

The checkout keeps ``locales/`` and ``migrations/`` at its top (where
``make catalogs``, ``tools/catalogs.py`` and Alembic's authors expect them);
an installed bot has no checkout, so the wheel maps them into the packages
that read them: ``bot/locales`` (bot.i18n) and ``core/store/migrations``
(core.store.migrate). The catalogs are compiled from the ``.po`` files while
the wheel is built, so a wheel never carries a stale or missing ``.mo``.
Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
CODE = ["core", "core.*", "bot", "bot.*", "scheduler", "scheduler.*"]
# The local chat servers are their own top-level package: `python -m bot demo`
# and `python -m bot local-api` start them; the bot's runtime never imports them.
STAND_INS = ["local_servers", "local_servers.*"]


class BuildWithCatalogs(build_py):
    """build_py, then every ``locales/*/LC_MESSAGES/messages.po`` compiled into the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's locales/ (make catalogs)
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        target = Path(self.build_lib) / "bot" / "locales"
        for po in sorted((ROOT / "locales").glob("*/LC_MESSAGES/messages.po")):
            mo = target / po.relative_to(ROOT / "locales").with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=po.parts[-3])
            with mo.open("wb") as handle:
                write_mo(handle, catalog)


setup(
    packages=[
        *find_packages(include=[*CODE, *STAND_INS]),
        # Folders of data only, named as packages so that setuptools carries them.
        "core.data",
        "bot.outputs.fonts",
        "bot.locales",
        "core.store.migrations",
        "core.store.migrations.versions",
    ],
    package_dir={"bot.locales": "locales", "core.store.migrations": "migrations"},
    package_data={
        "core.data": ["*.toml"],
        "bot.outputs.fonts": ["*.ttf", "OFL.txt"],
        "core.store.migrations": ["script.py.mako"],
        "local_servers.telegram": ["*.json"],
    },
    cmdclass={"build_py": BuildWithCatalogs},
)
