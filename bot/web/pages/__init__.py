"""The patients' pages: a reminder in full with its choices, the schedule and calendar,
and the symptom report, opened from the signed link in a reminder (``/r/<token>``)."""
