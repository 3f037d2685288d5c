"""Which channels tactful watches, and what kind each one is.

* ``customer``: customers write there themselves (a Slack Connect or shared
  channel, ``TACTFUL_SUPPORT_CHANNELS``); Approve posts the reply in their thread.
* ``relay``: an internal channel where agents paste customers' e-mails,
  chats and phone notes (``TACTFUL_RELAY_CHANNELS``); the customer is the
  e-mail's sender, never the agent who pasted it, and Approve hands the agent
  copy-ready text instead of posting anything.

A relay channel is watched without being listed among the support channels;
a channel listed in both is a relay channel (the safer reading: nothing is
ever posted into it as if to a customer).  Per-channel playbooks may declare
more relay channels at run time through ``add_relay``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class ChannelKind(StrEnum):
    CUSTOMER = "customer"
    RELAY = "relay"


CHANNEL_KINDS: tuple[str, ...] = tuple(kind.value for kind in ChannelKind)


class ChannelKinds:
    """The watched channels and their kinds, built from settings (and playbooks)."""

    def __init__(self, *, support: Iterable[str] = (), relay: Iterable[str] = ()) -> None:
        self._support = set(support)
        self._relay = set(relay)

    def add_relay(self, channels: Iterable[str]) -> None:
        """More relay channels (a playbook that says ``kind: relay``); watched from now on."""
        self._relay.update(channels)

    def kind_of(self, channel: str) -> ChannelKind | None:
        """The channel's kind, or None when tactful does not watch it."""
        if channel in self._relay:
            return ChannelKind.RELAY
        if channel in self._support:
            return ChannelKind.CUSTOMER
        return None

    def is_relay(self, channel: str) -> bool:
        return channel in self._relay

    @property
    def watched(self) -> frozenset[str]:
        return frozenset(self._support | self._relay)

    @property
    def relay(self) -> frozenset[str]:
        return frozenset(self._relay)
