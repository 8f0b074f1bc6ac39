"""The contextual chat: ask C4 about churn in plain Spanish or English, answered from the data.

A question is understood locally (entities resolved against the lake's dimensions, a small
deterministic intent model), answered with one query of the named-query catalogue
(:mod:`c4.queries`) with bound, validated parameters, and phrased in the user's language with
the table and the SQL used.  See ``docs/chat.md``.
"""

from c4.chat.data import LakeData, NoDataError
from c4.chat.session import Chat, ChatResponse
from c4.chat.understand import Conversation

__all__ = ["Chat", "ChatResponse", "Conversation", "LakeData", "NoDataError"]
