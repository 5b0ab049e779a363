"""Choosing the ``tf.distribute`` strategy for ``--strategy`` (and ``--tpu``)."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from albert_data.errors import UserError


def _multi_worker_configured() -> bool:
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except json.JSONDecodeError:
        raise UserError("TF_CONFIG is not valid JSON; fix the environment variable") from None
    return len(cluster.get("worker", [])) + len(cluster.get("chief", [])) > 1


def resolve_name(name: str, tpu: str | None) -> str:
    """``auto``: TPU if ``--tpu``, multi-worker if TF_CONFIG names several workers,
    mirrored if there are several GPUs, else one device."""
    if name != "auto":
        return name
    if tpu:
        return "tpu"
    if _multi_worker_configured():
        return "multi_worker"
    return "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "one_device"


def make_strategy(name: str, tpu: str | None = None) -> tf.distribute.Strategy:
    """The strategy; ``mirrored`` without GPUs mirrors over the logical CPU devices.

    ``multi_worker`` must be made before any other TensorFlow op runs in the process
    (collective ops are configured at start-up), so it is checked before anything else.
    """
    name = resolve_name(name, tpu)
    if name == "multi_worker":
        return _multi_worker()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "tpu":
        if not tpu:
            raise UserError("--strategy tpu needs --tpu NAME (the TPU name or grpc:// address)")
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.OpError) as err:
            raise UserError(f"--tpu {tpu}: cannot connect ({str(err).splitlines()[0]})") from None
        return tf.distribute.TPUStrategy(resolver)
    raise UserError(
        f"--strategy {name!r} is not one of auto, one_device, mirrored, tpu, multi_worker"
    )


def _multi_worker() -> tf.distribute.MultiWorkerMirroredStrategy:
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except tf.errors.OpError as err:
        task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {})
        raise UserError(
            f"--strategy multi_worker: cannot start this worker ({task.get('type')} "
            f"{task.get('index')} of TF_CONFIG): {str(err).splitlines()[0]}; check that its "
            "address in TF_CONFIG is free and reachable"
        ) from None


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files: every process but a multi-worker
    run's non-chief workers (the ``chief`` task, or worker 0 when there is none)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def write_dir(model_dir: str, strategy: tf.distribute.Strategy) -> str:
    """Where this process saves checkpoints: ``model_dir`` for the chief, a per-worker
    temporary directory inside it for the others (they must save too, as TF's
    multi-worker checkpointing requires, but their copy is deleted right after)."""
    if is_chief(strategy):
        return model_dir
    resolver = strategy.cluster_resolver
    return f"{model_dir.rstrip('/')}/workertemp_{resolver.task_type}_{resolver.task_id}"
