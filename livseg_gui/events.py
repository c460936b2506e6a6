"""Change events without Qt: the document and the view state announce changes, views and panels observe.

napari's pattern (``EventEmitter`` on Qt-free models, ``_qt`` widgets connected to it), reduced to what
LivSeg needs: callbacks run in connection order, synchronously, on the thread that made the change.
"""

from __future__ import annotations

from collections.abc import Callable


class Event:
    """One kind of change. ``connect`` a callback; the model calls ``emit(*args)``."""

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> Callable:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):  # a callback may disconnect itself
            callback(*args)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self._callbacks)} callbacks)"


class Events:
    """A namespace of events: ``Events("cursor", "window").cursor.connect(fn)``."""

    def __init__(self, *names: str):
        for name in names:
            setattr(self, name, Event(name))
