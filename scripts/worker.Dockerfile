# A custom worker container for albert-data's Beam pipelines on Dataflow (or any
# portable runner): Beam's Python SDK image with this package and exactly the
# dependencies the pipelines import — no TensorFlow, no Keras (the [train] extra is
# for `train` and `export`, which never run on workers).
#
#   make worker-image IMAGE=us-central1-docker.pkg.dev/my-project/albert/worker:1
#   docker push $IMAGE
#   albert-data make-pretraining ... --runner DataflowRunner --sdk_container_image=$IMAGE
#
# The Beam version must match the one that submits the job (pip show apache-beam).
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}

WORKDIR /opt/albert-data
COPY pyproject.toml README.md ./
COPY albert_data ./albert_data
COPY pipelines ./pipelines
COPY vocab ./vocab
RUN pip install --no-cache-dir . \
    && python -c "import pipelines.pretraining, pipelines.split_sentences, sys; assert 'tensorflow' not in sys.modules"
