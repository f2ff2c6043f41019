"""Coordinator commands: /enroll, /invite, /withdraw, /reschedule, /ack, one module each.

Each works as one message or, sent bare, as a
guided flow with buttons; both go through the same parser. Enrolling,
withdrawing and moving an event change the trial's records, so they show
what was understood with Confirm / Cancel and store only on Confirm. A staff
invitation and an acknowledgement act at once (no clinical data).

The rules live in ``core``: :mod:`core.enrollment` (the words of /enroll and
the day-0 limits), :mod:`core.rescheduling` (what moves, the window) and
:mod:`core.store.coordination` (the writes). What the commands share is in
:mod:`bot.staff.coordinator.shared`. Importing a command's module registers
it (:mod:`bot.features` imports them all).
"""
