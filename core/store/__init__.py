"""Persistence: the SQLModel tables, the unit of work and the audit trail.

Requirement: "Everything the trial records lives in a real database through
SQLModel". The rules in ``core`` stay importable without this package; the
bot and the scheduler use it through :class:`~core.store.uow.UnitOfWork` and
the functions of :mod:`core.store.services`.
"""
