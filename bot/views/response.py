"""A renal assessment as people read it: the class and every clause with its numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.i18n import Translator
from core.endpoints import PatientEndpoints
from core.messages import N_
from core.response import Assessment, Clause, ResponseClass

CLASS_NAMES: dict[ResponseClass | None, str] = {
    ResponseClass.CR: N_("complete response (CR)"),
    ResponseClass.PR: N_("partial response (PR)"),
    ResponseClass.NR: N_("no response (NR)"),
    ResponseClass.NE: N_("not evaluable (data missing)"),
    None: N_("no assessment yet"),
}

# Clause parameters that are themselves sentences to translate.
_TRANSLATED_PARAMS = frozenset({"item", "status"})


def class_name(t: Translator, cls: ResponseClass | None) -> str:
    return t._(CLASS_NAMES[cls])


def clause_text(t: Translator, clause: Clause) -> str:
    """One clause in the reader's language, numbers as the lab wrote them."""
    params: dict[str, object] = {}
    for key, value in clause.params.items():
        if isinstance(value, Decimal):
            params[key] = t.number(value)
        elif key in _TRANSLATED_PARAMS:
            params[key] = t._(value)
        else:
            params[key] = value
    return t._(clause.template, **params)


def assessment_lines(t: Translator, assessment: Assessment) -> list[str]:
    """The class, then the CR clauses, then the PR clauses, each on its own line."""
    lines = [class_name(t, assessment.cls)]
    for clause in assessment.clauses:
        lines.append("  " + clause_text(t, clause))
        lines.extend("    " + clause_text(t, part) for part in clause.parts)
        if clause.alternative is not None:
            lines.append(
                "    " + t._("Other reading: {clause}", clause=clause_text(t, clause.alternative))
            )
    return lines


def endpoints_as_json(endpoints: PatientEndpoints) -> dict[str, Any]:
    """One patient's endpoints for a program: classes as CR/PR/NR/NE, clauses in English."""
    result = endpoints.result
    final = endpoints.assessments.get(result.endpoint_week)
    return {
        "patient_id": endpoints.patient_id,
        "sex": str(endpoints.sex),
        "week24": str(result.week24) if result.week24 else None,
        "cumulative": str(result.cumulative) if result.cumulative else None,
        "cumulative_cr": result.cumulative_cr,
        "cumulative_week": result.cumulative_week,
        "weeks": {str(week): str(a.cls) for week, a in sorted(endpoints.assessments.items())},
        "clauses": [
            {"key": str(c.key), "met": c.met, "text": c.english()}
            for c in (final.clauses if final else ())
        ],
    }
