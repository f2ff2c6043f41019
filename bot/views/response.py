"""A renal assessment as people read it: the class and every clause with its numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.i18n import Translator
from core.endpoints import PatientEndpoints
from core.messages import N_
from core.response import Assessment, Clause, ResponseClass, SedimentFinding

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


def clause_text(t: Translator, clause: Clause | SedimentFinding) -> str:
    """One clause (or sediment finding) in the reader's language, numbers as the lab
    wrote them."""
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
    """The class, then the CR clauses, then the PR clauses, each on its own line.

    Under a sediment clause that is not met, the findings that make it so
    (active, or not evaluable) are shown too.
    """
    lines = [class_name(t, assessment.cls)]
    for clause in assessment.clauses:
        lines.append("  " + clause_text(t, clause))
        lines.extend("    " + clause_text(t, part) for part in clause.parts)
        if clause.sediment is not None and clause.met is not True:
            lines.extend(
                "    " + clause_text(t, finding)
                for finding in clause.sediment.findings
                if finding.active is not False
            )
        if clause.alternative is not None:
            lines.append(
                "    " + t._("Other reading: {clause}", clause=clause_text(t, clause.alternative))
            )
    return lines


def endpoint_lines(t: Translator, endpoints: PatientEndpoints) -> list[str]:
    """One patient of ``python -m bot endpoints``: the classes, the baseline when it is a
    screening week, then every clause at the endpoint week."""
    result = endpoints.result
    lines = [
        t._(
            "{patient}: week 24 {week24}; cumulative {cumulative}.",
            patient=endpoints.patient_id,
            week24=class_name(t, result.week24),
            cumulative=class_name(t, result.cumulative),
        )
    ]
    if endpoints.baseline_week is not None and endpoints.baseline_week < 0:
        lines.append(
            "  "
            + t._(
                "Baseline: screening week {week}, since week 0 has no results.",
                week=endpoints.baseline_week,
            )
        )
    final = endpoints.assessments.get(result.endpoint_week)
    if final is not None:
        lines += ["  " + line for line in assessment_lines(t, final)[1:]]
    return lines


def endpoints_as_json(endpoints: PatientEndpoints) -> dict[str, Any]:
    """One patient's endpoints for a program: classes as CR/PR/NR/NE, clauses in English."""
    result = endpoints.result
    final = endpoints.assessments.get(result.endpoint_week)
    return {
        "patient_id": endpoints.patient_id,
        "sex": str(endpoints.sex),
        "baseline_week": endpoints.baseline_week,
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
