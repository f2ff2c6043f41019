"""Every reply within what one message on its channel may hold, or not sent at all.

The one guard on the conversation layer's reply path: each handler's
replies pass through :class:`GuardedReplies` before the channel sees them,
with the channel's own :class:`~bot.conversations.events.Limits`. So no
request reaches a channel that it would refuse for its length:

- a text longer than a message is sent as consecutive messages, cut where
  :func:`bot.pagination.split_pages` cuts (between blocks and lines, never
  dropping a character);
- a text with options (a question, a preview with Confirm) cannot be split
  without separating the options from what they answer: it is refused with
  :class:`ReplyTooLong`, which the layer turns into a localized sentence;
- a caption too long for its file goes as a message after the file;
- a notice (a toast) too long for one goes as a message;
- an option whose token is over the channel's limit is a programming error,
  refused the same way.

Refusals are logged with lengths only, never the text.
"""

from __future__ import annotations

import logging

from bot.conversations.events import (
    Attachment,
    Limits,
    MessageRef,
    Options,
    Replies,
    Reply,
    StoredFile,
    Text,
)
from bot.pagination import split_pages, utf16_len

log = logging.getLogger(__name__)


class ReplyTooLong(Exception):
    """A reply that does not fit one message and cannot be split; nothing of it was sent."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"reply of {length} characters, limit {limit}")
        self.length = length
        self.limit = limit


def _check_tokens(options: Options | None, limits: Limits) -> None:
    for row in options or ():
        for _label, token in row:
            size = len(token.encode("utf-8"))
            if size > limits.token_bytes:
                log.error("option token of %d bytes refused (limit %d)", size, limits.token_bytes)
                raise ReplyTooLong(size, limits.token_bytes)


class GuardedReplies:
    """A channel's :class:`~bot.conversations.events.Replies`, kept within its limits."""

    def __init__(self, inner: Replies) -> None:
        self.inner = inner

    @property
    def limits(self) -> Limits:
        return self.inner.limits

    async def send(self, reply: Reply) -> MessageRef:
        limits = self.limits
        if isinstance(reply, Text):
            _check_tokens(reply.options, limits)
            length = utf16_len(reply.text)
            if length <= limits.text:
                return await self.inner.send(reply)
            if reply.options:
                log.warning(
                    "reply of %d characters with options refused (limit %d)", length, limits.text
                )
                raise ReplyTooLong(length, limits.text)
            log.info("reply of %d characters sent in parts (limit %d)", length, limits.text)
            return await self._parts(reply.text)
        if utf16_len(reply.caption) <= limits.caption:
            return await self.inner.send(reply)
        log.info(
            "caption of %d characters sent after its file (limit %d)",
            utf16_len(reply.caption),
            limits.caption,
        )
        bare: Reply = (
            StoredFile(reply.file, "")
            if isinstance(reply, StoredFile)
            else Attachment(reply.data, reply.filename, "", image=reply.image)
        )
        ref = await self.inner.send(bare)
        await self._parts(reply.caption)
        return ref

    async def _parts(self, text: str) -> MessageRef:
        """``text`` as consecutive messages; the last one's reference."""
        ref: MessageRef | None = None
        for part in split_pages([text], limit=self.limits.text):
            if part.strip():  # a channel sends no blank message
                ref = await self.inner.send(Text(part))
        assert ref is not None, "a text over the limit has more than blanks"
        return ref

    async def edit(self, ref: MessageRef, text: str, options: Options | None) -> None:
        _check_tokens(options, self.limits)
        length = utf16_len(text)
        if length > self.limits.text:
            log.warning("edit of %d characters refused (limit %d)", length, self.limits.text)
            raise ReplyTooLong(length, self.limits.text)
        await self.inner.edit(ref, text, options)

    async def remove_options(self, ref: MessageRef) -> None:
        await self.inner.remove_options(ref)

    async def toast(self, text: str | None = None) -> None:
        if text is None or utf16_len(text) <= self.limits.notice:
            await self.inner.toast(text)
            return
        log.info("notice of %d characters sent as a message", utf16_len(text))
        await self.inner.toast(None)
        await self._parts(text)
