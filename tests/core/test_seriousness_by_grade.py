"""Seriousness by grade: grade 5 is death (CTCAE v5.0), grade 4 without a criterion is asked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.adverse_events import (
    Seriousness,
    life_threatening_unanswered,
    seriousness_for_grade,
)

CRITERIA = st.lists(st.sampled_from(list(Seriousness)))


@given(CRITERIA)
def test_grade_5_always_has_death_and_keeps_what_was_typed(typed: list[Seriousness]) -> None:
    result = seriousness_for_grade(5, typed)
    assert Seriousness.DEATH in result
    assert set(result) == {*typed, Seriousness.DEATH}
    assert list(result) == sorted(set(result), key=list(Seriousness).index)


@given(st.integers(min_value=1, max_value=4), CRITERIA)
def test_other_grades_keep_exactly_what_was_typed(grade: int, typed: list[Seriousness]) -> None:
    assert set(seriousness_for_grade(grade, typed)) == set(typed)


def test_only_grade_4_without_a_criterion_is_asked() -> None:
    assert life_threatening_unanswered(4, ())
    assert not life_threatening_unanswered(4, (Seriousness.HOSPITALIZATION,))
    assert not any(life_threatening_unanswered(g, ()) for g in (1, 2, 3, 5))
