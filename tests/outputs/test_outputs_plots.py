"""/plot: proteinuria, swimmer and one patient's chart as PNG photos, in both languages,
and the English fallback when no font can show Chinese (tests.support.outputs_seed trial)."""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable

import pytest

from bot.i18n import Translator
from bot.outputs import chart_fonts
from bot.outputs.plots import Chart, patient_chart, proteinuria_chart, swimmer_chart
from core.protocol import Protocol
from core.store.db import read_session
from core.store.models import InviteRole
from core.store.trial_data import load_trial_data
from core.tables.lab_file import derive_trial_endpoints
from core.trial_records import TrialData
from tests.support.bot_harness import World
from tests.support.outputs_seed import SHANGHAI, TODAY, seed_trial, seeded_engine

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

Render = Callable[[Translator], Chart]


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    assert png[:8] == PNG_MAGIC
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> TrialData:
    engine = seeded_engine(tmp_path_factory.mktemp("plots") / "trial.db", protocol)
    with read_session(engine) as session:
        loaded = load_trial_data(session, SHANGHAI, events=True)
    engine.dispose()
    return loaded


def renderers(data: TrialData, protocol: Protocol) -> dict[str, Render]:
    options = protocol.response_options()
    endpoints = derive_trial_endpoints(data, options)
    weeks = protocol.renal_assessment.weeks
    arms = list(protocol.arms)
    p01 = data.by_study_id("P01")
    assert p01 is not None
    return {
        "proteinuria": lambda t: proteinuria_chart(t, data, arms, options, weeks, TODAY),
        "swimmer": lambda t: swimmer_chart(t, data, endpoints, arms, TODAY, 24),
        "patient": lambda t: patient_chart(t, data, p01, options, weeks, TODAY),
    }


CAPTIONS = {
    "proteinuria": ("dashed lines at 0.4 g/24h", "虚线为 0.4 g/24h"),
    "swimmer": ("one lane per patient", "每位受试者一条泳道"),
    "patient": ("P01: 24-hour urine protein", "P01：各周 24 小时尿蛋白"),
}


@pytest.mark.parametrize("kind", ["proteinuria", "swimmer", "patient"])
def test_each_chart_is_a_valid_png_in_both_languages(
    data: TrialData, protocol: Protocol, kind: str
) -> None:
    render = renderers(data, protocol)[kind]
    charts = {}
    for lang in ("en", "zh_Hans"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            chart = render(Translator(lang, SHANGHAI))
        # Every label drawn with a font that has its glyphs (no tofu boxes).
        assert not [w for w in caught if "missing from font" in str(w.message)], lang
        width, height = png_size(chart.png)
        assert (width, height) == (chart.width, chart.height)
        assert width >= 600 and height >= 400
        assert len(chart.png) > 10_000
        assert 0 < len(chart.caption) <= 1024
        charts[lang] = chart
    english, chinese = CAPTIONS[kind]
    assert english in charts["en"].caption
    assert chinese in charts["zh_Hans"].caption
    assert "English" not in charts["zh_Hans"].caption
    # Chinese labels are drawn, not the English ones.
    assert charts["en"].png != charts["zh_Hans"].png


def test_without_a_chinese_font_the_chart_falls_back_to_english_labels(
    data: TrialData, protocol: Protocol, monkeypatch: pytest.MonkeyPatch
) -> None:
    render = renderers(data, protocol)["proteinuria"]
    english = render(Translator("en", SHANGHAI))
    monkeypatch.setattr(chart_fonts, "find_cjk_font", lambda: None)
    fallback = render(Translator("zh_Hans", SHANGHAI))
    # The image is the English one; the caption stays Chinese and says why.
    assert fallback.png == english.png
    assert "服务器上没有可显示中文的字体，因此图表使用英文标注。" in fallback.caption
    assert "虚线为 0.4 g/24h" in fallback.caption


def test_the_packaged_font_is_found() -> None:
    family = chart_fonts.find_cjk_font()
    assert family is not None
    assert chart_fonts.find_cjk_font() == family


def test_charts_of_an_empty_trial_still_render(protocol: Protocol) -> None:
    empty = TrialData(patients=())
    options = protocol.response_options()
    for lang in ("en", "zh_Hans"):
        t = Translator(lang, SHANGHAI)
        for chart in (
            proteinuria_chart(t, empty, list(protocol.arms), options, [0, 4, 8], TODAY),
            swimmer_chart(t, empty, {}, list(protocol.arms), TODAY, 24),
        ):
            assert png_size(chart.png)[0] >= 600


# --- end to end over HTTP --------------------------------------------------------------


async def test_plot_commands_send_photos(world: World, protocol: Protocol) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    user = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    await world.api.user_sends(user, "/plot proteinuria")
    photo = await world.api.wait_for_message(user, lambda m: m.photo is not None, timeout=30)
    assert photo.photo is not None and photo.photo.data is not None
    assert png_size(photo.photo.data)[0] >= 600
    assert "24-hour urine protein by week" in (photo.visible_caption or "")

    unknown = await world.say(user, "/plot P99")
    assert 'There is no chart or patient called "P99"' in unknown.shown
    assert "Expected: /plot proteinuria" in unknown.shown

    ask = await world.say(user, "/plot")
    assert "Which chart?" in ask.shown
    assert {b.text for b in ask.buttons()} >= {"Proteinuria", "Swimmer plot", "P01", "P07"}
    await world.press(user, ask, "Swimmer plot")
    swimmer = await world.api.wait_for_message(user, lambda m: m.photo is not None, timeout=30)
    assert "one lane per patient" in (swimmer.visible_caption or "")


async def test_plot_of_one_patient_in_chinese_for_investigators(
    world: World, protocol: Protocol
) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    user = await world.join_staff(InviteRole.INVESTIGATOR, language_code="zh-hans")
    await world.api.user_sends(user, "/plot p01")
    photo = await world.api.wait_for_message(user, lambda m: m.photo is not None, timeout=30)
    assert "P01：各周 24 小时尿蛋白" in (photo.visible_caption or "")
    await world.api.user_sends(user, "/plot 泳道图")
    swimmer = await world.api.wait_for_message(user, lambda m: m.photo is not None, timeout=30)
    assert "泳道图" in (swimmer.visible_caption or "")
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    refused = await world.say(nurse, "/plot proteinuria")
    assert "/plot is not available to you" in refused.shown
