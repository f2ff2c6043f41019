"""The statistician's tables: the long-format lab file, the workbook sheets, SDTM datasets.

Pure: every function takes :class:`~core.trial_records.TrialData` (and the
trial's time zone for local dates) and returns rows; writing them to
``.xlsx``/``.csv`` is the bot's job. Rows are sorted, so the same data always
gives the same files. Study IDs only: no Telegram id, no name, no actor.

- :mod:`core.tables.cells`: the :class:`~core.tables.cells.Table` type and how
  a stored value becomes a cell;
- :mod:`core.tables.lab_file`: the long-format lab file and the endpoints
  derived from it;
- :mod:`core.tables.workbook`: the workbook, one function per sheet;
- :mod:`core.tables.sdtm`: SDTM-style DM, DS, SV, EX, AE, SUPPAE, LB, QS and RS datasets.
"""
