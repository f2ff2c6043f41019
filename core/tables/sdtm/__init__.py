"""SDTM-style datasets: DM, DS, SV, EX, AE (+ SUPPAE), LB, QS and RS.

They follow the CDISC SDTM Implementation Guide v3.4: variable names and their
order, controlled terminology where it exists (units ``/HPF``, ``g/L``,
``umol/L``; NCOMPLT, ACN, OUT, NRIND), ISO 8601 dates (``YYYY-MM-DD``,
date-times ``YYYY-MM-DDThh:mm`` in the trial's local time), study day with no
day 0. Choices where the facts are silent: ``USUBJID`` is
``<registry id>-<study ID>``; test codes are those of :data:`LB_TESTS`, QS and RS
codes are sponsor-defined (:mod:`core.tables.sdtm.findings`). Each domain lives in
a module named for what it holds; this one puts them together. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, tzinfo

from core.endpoints import PatientEndpoints
from core.tables.cells import Table
from core.tables.lab_file import derive_trial_endpoints
from core.tables.sdtm.common import SdtmOptions, numbered, sdtm_study_day, sdtm_table
from core.tables.sdtm.events import (
    AE_COLUMNS,
    DS_COLUMNS,
    SUPPAE_COLUMNS,
    ae_rows,
    ds_rows,
    suppae_rows,
)
from core.tables.sdtm.findings import (
    LB_COLUMNS,
    LB_TESTS,
    QS_COLUMNS,
    RS_COLUMNS,
    LbTest,
    lb_rows,
    qs_rows,
    rs_rows,
)
from core.tables.sdtm.subjects import (
    DM_COLUMNS,
    EX_COLUMNS,
    EX_TREATMENTS,
    SV_COLUMNS,
    dm_rows,
    ex_rows,
    sv_rows,
)
from core.trial_records import TrialData

__all__ = [
    "AE_COLUMNS",
    "DM_COLUMNS",
    "DS_COLUMNS",
    "EX_COLUMNS",
    "EX_TREATMENTS",
    "LB_COLUMNS",
    "LB_TESTS",
    "QS_COLUMNS",
    "RS_COLUMNS",
    "SDTM_DOMAINS",
    "SUPPAE_COLUMNS",
    "SV_COLUMNS",
    "LbTest",
    "SdtmOptions",
    "sdtm_study_day",
    "sdtm_tables",
]

#: The datasets :func:`sdtm_tables` returns, in that order.
SDTM_DOMAINS: tuple[str, ...] = ("DM", "DS", "SV", "EX", "AE", "SUPPAE", "LB", "QS", "RS")


def sdtm_tables(
    data: TrialData,
    options: SdtmOptions,
    zone: tzinfo,
    *,
    cutoff: date | None = None,
    endpoints: Mapping[str, PatientEndpoints] | None = None,
) -> tuple[Table, ...]:
    """The SDTM-style datasets of :data:`SDTM_DOMAINS` (all values as text; empty for null).

    Rule: CDISC SDTMIG v3.4 variables in its order; --SEQ numbers rows within a
    subject in the sorted order, so the same data always gives the same files.
    ``cutoff`` is the data cut-off day for SV (a planned visit whose window closed
    by then with nothing recorded is not done, :func:`core.visits.visit_outcome`);
    ``endpoints`` are the renal assessments RS reports (derived from the data's lab
    file, :func:`derive_trial_endpoints`, when not given). Source: CDISC SDTMIG v3.4.
    """
    patients = {p.id: p for p in data.patients}
    usubjid = {p.id: f"{options.study_id}-{p.study_id}" for p in data.patients}
    study = options.study_id
    assessed = derive_trial_endpoints(data) if endpoints is None else endpoints
    ae = numbered("AE", AE_COLUMNS, "AESEQ", ae_rows(data, usubjid, patients), study)
    ae_numbered = [dict(zip(ae.columns, row, strict=True)) for row in ae.rows]
    sv = sv_rows(data, usubjid, patients, cutoff)
    for row in sv:
        row.update(STUDYID=study, DOMAIN="SV")
    return (
        sdtm_table("DM", DM_COLUMNS, dm_rows(data, options, usubjid)),
        numbered("DS", DS_COLUMNS, "DSSEQ", ds_rows(data, usubjid), study),
        sdtm_table("SV", SV_COLUMNS, sv),
        numbered("EX", EX_COLUMNS, "EXSEQ", ex_rows(data, usubjid, patients), study),
        ae,
        sdtm_table("SUPPAE", SUPPAE_COLUMNS, suppae_rows(ae_numbered, data, study)),
        numbered("LB", LB_COLUMNS, "LBSEQ", lb_rows(data, usubjid, patients, zone), study),
        numbered("QS", QS_COLUMNS, "QSSEQ", qs_rows(data, usubjid, patients), study),
        numbered(
            "RS", RS_COLUMNS, "RSSEQ", rs_rows(data, assessed, usubjid, patients, zone), study
        ),
    )
