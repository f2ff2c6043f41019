"""Where bot.routing finds the reminder renderer until its import names bot.views.reminder.

The renderer lives in :mod:`bot.views.reminder` with the other pure renderers;
this module only keeps ``from bot.reminder_view import render_reminder`` working.
"""

from bot.views.reminder import render_reminder as render_reminder
