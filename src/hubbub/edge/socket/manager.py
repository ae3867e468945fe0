"""python-socketio's client manager, with a disconnect that costs the same at any size.

Edge: python-socketio's server (`gateway.GatewayServer`) -> here, as its
`client_manager`. hubbub fans out through the hub (`hubbub.realtime.hub`), never
through Socket.IO rooms: a socket is only ever in the two rooms python-socketio puts
it in, the namespace's room of every socket (`None`) and the room named by its own id.
python-socketio's manager found a socket's rooms on disconnect by copying the table of
all the namespace's rooms (one per socket) and testing each: about 5 ms per
disconnect with 10,000 sockets, 8 % of the server's CPU in a reconnect storm of
10,000 clients whose timed-out attempts all disconnect (docs/performance.md, "Eleventh
round"), and as much again for every socket that closes at shutdown. Here a
disconnect leaves exactly those two rooms, and entering any other room is refused, so
that this stays true. The rest of the disconnect is python-socketio's own, as it
stands in `BaseManager.basic_disconnect` (pinned by tests/test_library_internals.py).

The sockets connecting or disconnecting were lists, tested for each event a socket
sends (`is_connected`) and searched to remove one: in a storm thousands are connecting
at once, and those tests were 3 % of the server's CPU. Here they are insertion-ordered
sets with the list's `append` and `remove`.
"""

from __future__ import annotations

from typing import Any

import socketio


class _Sids(dict[str, None]):
    """The sockets of a namespace connecting (or disconnecting), in the order they came:
    python-socketio's list, with a membership test and removal that do not scan it."""

    def append(self, sid: str) -> None:
        self[sid] = None

    def remove(self, sid: str) -> None:
        del self[sid]


class _PendingSids(dict[str, _Sids]):
    """Namespace -> `_Sids`: python-socketio stores a new list here; it is kept as such."""

    def __setitem__(self, namespace: str, sids: Any) -> None:
        super().__setitem__(namespace, _Sids(dict.fromkeys(sids)))


class OwnRoomsManager(socketio.AsyncManager):  # type: ignore[misc]
    """Sockets in their own room and the namespace's, and no other."""

    def __init__(self) -> None:
        super().__init__()
        self.pending_connect = _PendingSids()
        self.pending_disconnect = _PendingSids()

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        if room is not None and room != sid:
            raise ValueError("hubbub fans out through its hub, not through rooms")
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        if namespace not in self.rooms:
            return
        for room in (None, sid):  # python-socketio's own order: they were made so
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]
