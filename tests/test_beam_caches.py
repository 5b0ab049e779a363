"""pipelines.beam_caches: Beam's view_as and get_dofn_specs remembered per object give
what Beam's own functions give."""

from __future__ import annotations

import gc

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.options.pipeline_options import (
    DebugOptions,
    PipelineOptions,
    StandardOptions,
    TypeOptions,
)
from apache_beam.transforms import userstate
from apache_beam.transforms.userstate import BagStateSpec, TimerSpec, on_timer

from pipelines import beam_caches


class _Stateful(beam.DoFn):
    BAG = BagStateSpec("bag", VarIntCoder())
    TIMER = TimerSpec("timer", beam.TimeDomain.WATERMARK)

    # Beam's idiom: state and timer parameters are declared as defaults.
    def process(self, element, bag=beam.DoFn.StateParam(BAG), t=beam.DoFn.TimerParam(TIMER)):  # noqa: B008
        yield element

    @on_timer(TIMER)
    def fire(self, bag=beam.DoFn.StateParam(BAG)):  # noqa: B008
        yield 0


class _Plain(beam.DoFn):
    def process(self, element):
        yield element


def test_install_replaces_both_functions_once():
    beam_caches.install()
    first = (PipelineOptions.view_as, userstate.get_dofn_specs)
    beam_caches.install()
    assert (PipelineOptions.view_as, userstate.get_dofn_specs) == first
    assert hasattr(PipelineOptions.view_as, "__wrapped__")
    assert userstate.get_dofn_specs.__name__ == "get_dofn_specs"


def test_dofn_specs_are_beams_and_each_caller_gets_its_own_sets():
    beam_caches.install()
    original = userstate.get_dofn_specs.__wrapped__
    stateful = _Stateful()
    expected = original(stateful)
    assert expected == ({_Stateful.BAG}, {_Stateful.TIMER})
    got = userstate.get_dofn_specs(stateful)
    assert got == expected
    got[0].clear()  # a caller changing its sets changes nobody else's
    assert userstate.get_dofn_specs(stateful) == expected
    assert userstate.is_stateful_dofn(stateful)
    assert userstate.get_dofn_specs(_Plain()) == (set(), set())
    assert not userstate.is_stateful_dofn(_Plain())


def test_a_collected_dofn_is_forgotten():
    beam_caches.install()
    entries = beam_caches.SPECS._entries
    before = len(entries)
    fn = _Plain()
    userstate.get_dofn_specs(fn)
    userstate.get_dofn_specs(fn)
    assert len(entries) == before + 1
    del fn
    gc.collect()
    assert len(entries) == before


def test_views_share_values_as_beams_do():
    beam_caches.install()
    options = PipelineOptions(["--runner", "DirectRunner", "--experiments", "a"])
    view = options.view_as(StandardOptions)
    assert options.view_as(StandardOptions) is view
    view.runner = "Elsewhere"
    assert options.view_as(StandardOptions).runner == "Elsewhere"
    assert options.get_all_options()["runner"] == "Elsewhere"
    options.view_as(DebugOptions).add_experiment("b")
    assert options.view_as(DebugOptions).experiments == ["a", "b"]
    assert options.view_as(TypeOptions).pipeline_type_check is True
    # Another options object has its own views and values.
    other = PipelineOptions(["--no_pipeline_type_check"])
    assert other.view_as(StandardOptions) is not view
    assert other.view_as(StandardOptions).runner is None
    assert other.view_as(TypeOptions).pipeline_type_check is False


def test_a_pipeline_runs_with_the_caches(tmp_path):
    beam_caches.install()
    out = tmp_path / "out"
    with beam.Pipeline(options=PipelineOptions(["--runner", "DirectRunner"])) as p:
        (
            p
            | beam.Create([("k", 1), ("k", 2), ("j", 5)])
            | beam.CombinePerKey(sum)
            | beam.MapTuple(lambda k, v: f"{k}={v}")
            | beam.io.WriteToText(str(out), shard_name_template="")
        )
    assert sorted(out.read_text().split()) == ["j=5", "k=3"]
