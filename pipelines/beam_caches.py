"""Two of Beam's introspections remembered per object, for a faster pipeline build and
worker start.

Building and translating a pipeline calls ``PipelineOptions.view_as`` about 150 times
on our pipelines (every ``apply`` reads the type-check options), and each call parses
the whole command line again with a new ``argparse`` parser; it calls
``userstate.get_dofn_specs`` about 140 times (each ParDo, several times over), and each
call wraps every method of the DoFn and reads its signature. Both results are fixed
for a given object: a view is a window on its options' shared values (Beam's own
``view_as`` makes a new window on the same dictionary each time), and a DoFn's state
and timer parameters are those of its methods. :func:`install` makes both remember
their answer per object, which shortens a small make-pretraining run by a sixth or so
(``make bench`` has the start-up figures).

Objects are remembered by identity only while they live (a weak reference each); an
object that cannot be weakly referenced is computed afresh, as before. The launcher
(:mod:`albert_data.jobs.beam_job`) and the warm workers (:mod:`pipelines.worker_process`)
install this once Beam is imported; it relies on those two Beam functions' names and
behaviour, checked by ``tests/test_beam_caches.py``.
"""

from __future__ import annotations

import functools
import weakref

_INSTALLED = False


class _PerObject:
    """A cache keyed by object identity that forgets an object once it is collected."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref, object]] = {}

    def get(self, obj, key, compute):
        slot = (id(obj), key)
        entry = self._entries.get(slot)
        if entry is not None and entry[0]() is obj:
            return entry[1]
        value = compute()
        try:
            ref = weakref.ref(obj, lambda _, slot=slot: self._entries.pop(slot, None))
        except TypeError:
            return value  # not weakly referable: not remembered
        self._entries[slot] = (ref, value)
        return value


VIEWS = _PerObject()  # options object, view class -> view
SPECS = _PerObject()  # DoFn -> (state specs, timer specs)


def install() -> None:
    """Make ``PipelineOptions.view_as`` and ``userstate.get_dofn_specs`` remember their
    results per object (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.transforms import userstate

    view_as = PipelineOptions.view_as

    @functools.wraps(view_as)
    def remembered_view_as(self, cls):
        return VIEWS.get(self, cls, lambda: view_as(self, cls))

    get_dofn_specs = userstate.get_dofn_specs

    @functools.wraps(get_dofn_specs)
    def remembered_dofn_specs(dofn):
        state, timers = SPECS.get(dofn, None, lambda: get_dofn_specs(dofn))
        return set(state), set(timers)  # callers get their own sets, as before

    PipelineOptions.view_as = remembered_view_as
    userstate.get_dofn_specs = remembered_dofn_specs
    _INSTALLED = True
