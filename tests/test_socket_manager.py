"""The gateway's client manager (`hubbub.edge.socket.manager.OwnRoomsManager`): it leaves
the same state as python-socketio's own manager after every disconnect, reads no
other socket's room to do so, and refuses rooms hubbub never uses."""

from __future__ import annotations

from typing import Any

import pytest
import socketio

from hubbub.edge.socket.manager import OwnRoomsManager

NS = "/messaging"


class _Ids:
    def __init__(self) -> None:
        self.made = 0

    def generate_id(self) -> str:
        self.made += 1
        return f"s{self.made}"


class _Server:
    """What a manager asks of its server: ids, and the packet class's JSON."""

    def __init__(self) -> None:
        self.eio = _Ids()
        self.packet_class = socketio.packet.Packet


def snapshot(manager: Any) -> tuple[Any, ...]:
    rooms = {
        ns: {room: dict(members) for room, members in by_room.items()}
        for ns, by_room in manager.rooms.items()
    }
    sids = [f"s{n}" for n in range(1, 7)]
    return (
        [(manager.is_connected(sid, NS), manager.is_pre_connected(sid, NS)) for sid in sids],
        rooms,
        dict(manager.callbacks),
        {ns: list(sids) for ns, sids in manager.pending_connect.items()},
        {ns: list(sids) for ns, sids in manager.pending_disconnect.items()},
    )


async def drive(manager: Any) -> list[tuple[Any, ...]]:
    """Five sockets: four connected (one with an ack awaited, one being disconnected
    by its handler) and one still connecting; then each disconnected in turn."""
    manager.set_server(_Server())
    sids = [await manager.pre_connect(f"e{n}", NS) for n in range(5)]
    for sid in sids[:4]:
        await manager.connect(sid, NS)
    manager.callbacks[sids[0]] = {1: print}
    manager.pre_disconnect(sids[1], NS)
    states = [snapshot(manager)]
    for sid in (sids[1], sids[0], sids[4], sids[2], sids[3]):
        await manager.disconnect(sid, NS)
        states.append(snapshot(manager))
    await manager.disconnect("never-connected", NS)
    states.append(snapshot(manager))
    return states


async def test_each_disconnect_leaves_what_python_socketios_own_manager_leaves() -> None:
    ours, theirs = await drive(OwnRoomsManager()), await drive(socketio.AsyncManager())
    assert ours == theirs
    assert ours[-1][1:] == ({}, {}, {}, {}), "something of a disconnected socket was kept"
    assert ours[0][0][:5] == [
        (True, False),
        (False, False),
        (True, False),
        (True, False),
        (False, True),
    ]


class _Untouchable(dict[Any, Any]):
    """A namespace's table of rooms that fails any walk over it."""

    def _refuse(self, *args: Any) -> Any:
        raise AssertionError("a disconnect walked every room of the namespace")

    copy = items = values = keys = __iter__ = _refuse


async def test_a_disconnect_reads_only_the_rooms_of_the_socket_that_leaves() -> None:
    manager = OwnRoomsManager()
    manager.set_server(_Server())
    sids = [await manager.pre_connect(f"e{n}", NS) for n in range(100)]
    for sid in sids:
        await manager.connect(sid, NS)
    manager.rooms[NS] = _Untouchable(manager.rooms[NS])
    for sid in sids[:-1]:
        await manager.disconnect(sid, NS)
    assert manager.is_connected(sids[-1], NS)
    assert not manager.is_connected(sids[0], NS)
    assert dict.__len__(manager.rooms[NS]) == 2  # the last socket's room and None


async def test_rooms_other_than_a_sockets_own_are_refused() -> None:
    manager = OwnRoomsManager()
    manager.set_server(_Server())
    sid = await manager.pre_connect("e1", NS)
    await manager.connect(sid, NS)
    before = snapshot(manager)
    with pytest.raises(ValueError, match="hub"):
        await manager.enter_room(sid, NS, "conversation:1")
    assert snapshot(manager) == before
