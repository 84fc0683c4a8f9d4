"""The email policy Labeldesk writes its mail with: the stdlib's ``SMTP`` policy, with a Subject folded as RFC 2047
has readers unfold it.

Python's email package (3.11 to 3.14 before gh-144156's fix) folds a long non-ASCII Subject into encoded words and
writes the space between two words as the folding whitespace *between* two encoded words, which RFC 2047 (section
6.2) tells readers to drop: Gmail and Thunderbird showed "Re: Здравствуйте возвратзаказ карта", about one Russian
or Polish subject in five, and Gmail, which threads a reply only under the same subject, could not keep it in the
customer's conversation. The stdlib's ``email.header.Header`` keeps every space inside the encoded words (one
encoded word may end and the next begin anywhere between two characters), so it writes such a Subject here, and an
ASCII one with a word too long for a line (the stdlib's encoded words of it are 76 characters, one over RFC 2047's
limit); other ASCII subjects are folded by the policy as before.
"""
from __future__ import annotations

from email.header import Header
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.policy import SMTP

ENCODED_LINE = 76  # RFC 2047: an encoded word of at most 75 characters, after the folding space


class SubjectHeader(UnstructuredHeader):
    """A Subject whose non-ASCII text is written as RFC 2047 encoded words with its spaces inside them."""

    def fold(self, *, policy) -> str:
        text = str(self)
        if text.isascii() and max(map(len, text.split()), default=0) < ENCODED_LINE:
            return super().fold(policy=policy)  # words that fit a line: folded between them
        encoded = Header(text, "utf-8", maxlinelen=min(policy.max_line_length or ENCODED_LINE, ENCODED_LINE),
                         header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {encoded}{policy.linesep}"


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    registry.map_to_type("subject", SubjectHeader)
    return registry


OUTGOING = SMTP.clone(header_factory=_registry())
