"""Names of protocol things as people read them, marked for translation.

The rules in ``core`` use stable keys (``belimumab_infusion``); this module
holds the English sentence for each, which the catalogs translate.
"""

from __future__ import annotations

from core.ae_outcomes import Action, Outcome
from core.entry_syntax import Relatedness
from core.messages import N_
from core.schedule import EventKind, Slot
from core.store.models import Channel

# The one relatedness scale (core.entry_syntax.parse_relatedness), as readers see it.
RELATEDNESS_NAMES: dict[Relatedness, str] = {
    Relatedness.UNRELATED: N_("unrelated"),
    Relatedness.UNLIKELY: N_("unlikely related"),
    Relatedness.POSSIBLE: N_("possibly related"),
    Relatedness.PROBABLE: N_("probably related"),
    Relatedness.DEFINITE: N_("definitely related"),
}

# An adverse event's outcome (CDISC OUT) and the action taken with the study drugs (ACN).
OUTCOME_NAMES: dict[Outcome, str] = {
    Outcome.RECOVERED: N_("recovered/resolved"),
    Outcome.RECOVERING: N_("recovering/resolving"),
    Outcome.NOT_RECOVERED: N_("not recovered/not resolved"),
    Outcome.RECOVERED_WITH_SEQUELAE: N_("recovered/resolved with sequelae"),
    Outcome.FATAL: N_("fatal"),
    Outcome.UNKNOWN: N_("unknown"),
}
ACTION_NAMES: dict[Action, str] = {
    Action.DOSE_NOT_CHANGED: N_("dose not changed"),
    Action.DOSE_REDUCED: N_("dose reduced"),
    Action.DRUG_INTERRUPTED: N_("drug interrupted"),
    Action.DRUG_WITHDRAWN: N_("drug withdrawn"),
    Action.NOT_APPLICABLE: N_("not applicable"),
    Action.UNKNOWN: N_("unknown"),
}

ARM_NAMES: dict[str, str] = {
    "belimumab_mt": N_("Belimumab plus multi-target therapy"),
    "mt_only": N_("Multi-target therapy only"),
}

EVENT_TITLES: dict[EventKind, str] = {
    EventKind.MP_PULSE: N_("Methylprednisolone pulse, day {number}"),
    EventKind.BELIMUMAB_INFUSION: N_("Belimumab infusion {number}"),
    EventKind.URINE_COLLECTION: N_("24-hour urine collection {number}"),
    EventKind.RENAL_ASSESSMENT: N_("Renal assessment {number}"),
    EventKind.SLEDAI: N_("SLEDAI-2K assessment {number}"),
    EventKind.CD20: N_("CD20 B-cell count {number}"),
    EventKind.ORAL_DOSE: N_("Daily medication, study day {number}"),
}

SLOT_TITLES: dict[Slot, str] = {
    Slot.INFUSION_EVENING_BEFORE: N_("reminder the evening before the infusion"),
    Slot.INFUSION_MORNING: N_("reminder on the morning of the infusion"),
    Slot.URINE_INSTRUCTIONS: N_("how to collect, the evening before"),
    Slot.URINE_START: N_("start now: discard this first void"),
    Slot.URINE_END: N_("last void into the container, then bring it"),
    Slot.VISIT_EVENING_BEFORE: N_("visit reminder: fasting, what to bring"),
    Slot.DOSE_1: N_("daily medication"),
    Slot.DOSE_2: N_("daily medication"),
    Slot.DOSE_3: N_("daily medication"),
    Slot.DOSE_4: N_("daily medication"),
    Slot.DOSE_AFTER_DRAW: N_("morning medication after the blood draw"),
}

# The protocol file names each site contact by a role key; people read the role.
CONTACT_ROLES: dict[str, str] = {
    "research_nurse": N_("Research nurse"),
    "investigator_on_call": N_("Investigator on call"),
    "investigator": N_("Investigator"),
    "coordinator": N_("Study coordinator"),
}
OTHER_CONTACT = N_("Study team")

# The chat apps by the names their users know them by.
CHANNEL_NAMES: dict[Channel, str] = {
    Channel.TELEGRAM: N_("Telegram"),
    Channel.WECHAT: N_("WeChat"),
    Channel.WECOM: N_("WeCom"),
    Channel.MEMORY: N_("the in-memory test channel"),
}
