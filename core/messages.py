"""Translatable messages raised by the rules.

The rules are pure and know no language. When a rule refuses a value it raises
:class:`RuleError` carrying an English *message id* (a whole sentence with named
placeholders) and the values for those placeholders. The bot looks the id up in
the person's catalog (``locales/``) and fills in the placeholders, so a nurse
typing in a Chinese chat reads the refusal in Chinese.

``N_`` marks a string for ``pybabel extract`` without translating it here;
``Nn_`` marks a sentence with its plural form, for a refusal that shows a
count (:meth:`RuleError.counted`), so each language words the count its way.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` for extraction into the catalogs; return it unchanged."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a sentence and its plural form (the count is ``{n}``) for extraction."""
    return singular, plural


class RuleError(ValueError):
    """A value the rules refuse, with a translatable explanation.

    ``msgid`` is an English sentence with ``{named}`` placeholders, marked with
    :func:`N_`; ``params`` fills them. ``str(error)`` is the English text.
    """

    def __init__(self, msgid: str, /, **params: object) -> None:
        self.msgid = msgid
        self.params: dict[str, object] = params
        # With a plural form, ``msgid`` is the singular and ``params["n"]`` the count.
        self.plural: str | None = None
        super().__init__(msgid.format(**params))

    @classmethod
    def counted(cls, forms: tuple[str, str], n: int, **params: object) -> RuleError:
        """A refusal whose sentence depends on the count ``n`` (its ``{n}`` placeholder);
        ``forms`` comes from :func:`Nn_`."""
        singular, plural = forms
        error = cls(singular if n == 1 else plural, n=n, **params)
        error.msgid, error.plural = singular, plural
        return error
