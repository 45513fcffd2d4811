"""Real-time updates on `ws /ws/updates`: status ticks and trading events pushed to WebSocket clients.

- `hub.Hub`: one per web process. Computes the status snapshot once per tick, serialises each frame once and
  fans it out to the process's clients through bounded per-client queues.
- `broker`: how an event reaches every hub. Embedded: in memory, same process. Redis: one pub/sub message per
  event, received once by each web process and fanned out there.
- `bridge.forward_event`: the listener (tradingrobot/listeners.py) that hands committed events to the broker.
- `consumer.UpdatesConsumer`: one WebSocket client (snapshot, subscriptions, errors, ping).
"""
