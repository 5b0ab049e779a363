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
    """The strategy; ``mirrored`` without GPUs mirrors over the logical CPU devices."""
    name = resolve_name(name, tpu)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
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
