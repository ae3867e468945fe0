"""Typed server -> client events, at the bottom of the flow beside `hubbub.wire`.

Actions build these events and register them on the unit of work (`hubbub.store.unit`);
after the commit the unit of work hands them to an `EventSink` (the bus in
`hubbub.realtime.bus`), which carries their `Envelope` to every node's hub.
`catalog` lists every event a client can receive, with its audience and its sender.
"""
