"""The outputs trial (:mod:`tests.support.outputs_seed`) plus two patients who reached a
complete response and then have no week-24 class, for the intention-to-treat tests.

=====  ============  =====  ==============================================================
ID     arm           day 0  renal course
=====  ============  =====  ==============================================================
P08    belimumab_mt  06-01  w12 CR, then withdrawn (no week-24 panel)
P09    mt_only       06-01  w12 CR, no week-24 panel although past week 24 (still on study)
=====  ============  =====  ==============================================================

With the seven patients of the outputs trial (today 2026-11-30), by hand:

- belimumab_mt, 5 enrolled (P01 w24 PR with CR at w12, P02 w24 CR, P03 w24 NR, P07
  withdrawn before any assessment, P08): intention to treat cumulative CR 3/5 (P01, P02,
  P08), CR 1/5, PR 1/5, ORR 2/5, non-responders 3/5; completers only (P01-P03) as before:
  cumulative CR 2/3, CR 1/3, PR 1/3, NR 1/3, ORR 2/3.
- mt_only, 4 enrolled (P04 w24 PR, P05 w24 incomplete, P06 not yet at week 24, P09):
  cumulative CR 1/4 (P09), CR 0/4, PR 1/4, ORR 1/4, non-responders 3/4, interim;
  completers only (P04): PR 1/1.
- all 9: cumulative CR 4/9, CR 1/9, PR 2/9, ORR 3/9, non-responders 6/9.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from core.protocol import Protocol
from core.store.models import Patient, PatientStatus
from core.store.services import enroll_patient
from core.store.uow import UnitOfWork
from tests.support.outputs_seed import BASELINE, CR_PANEL, EARLY, NOW, add_panels, seed_trial

EXTRA = {"P08": "belimumab_mt", "P09": "mt_only"}


def seed_itt_trial(engine: Engine, protocol: Protocol, now: datetime = NOW) -> dict[str, int]:
    """The outputs trial, then P08 and P09 above; returns every patient's row id by study ID."""
    ids = seed_trial(engine, protocol, now)
    with UnitOfWork(engine, "system", now) as uow:
        for study_id, arm in EXTRA.items():
            patient = enroll_patient(
                uow,
                protocol,
                study_id=study_id,
                arm=arm,
                day0=EARLY,
                sex="F",
                weight_kg="62",
                language="zh_Hans",
                timezone="Asia/Shanghai",
                daily_dose_reminders=False,
                now=now,
            )
            assert patient.id is not None
            ids[study_id] = patient.id
    with UnitOfWork(engine, "staff:1", now) as uow:
        for study_id in EXTRA:
            add_panels(uow, ids[study_id], EARLY, {0: BASELINE, 12: CR_PANEL})
        withdrawn = uow.session.get(Patient, ids["P08"])
        assert withdrawn is not None
        uow.update(withdrawn, "patient.withdrawn", status=PatientStatus.WITHDRAWN)
    return ids
