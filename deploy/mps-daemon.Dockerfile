# The MPS control daemon image (the chart's mpsDaemon.image.repository). Build from
# the repository root:
#   docker build -f deploy/mps-daemon.Dockerfile -t registry.example.com/mps-daemon:0.1.0 .
#
# nvidia-cuda-mps-control and nvidia-cuda-mps-server belong to the node's driver, not
# to an image: the NVIDIA container runtime mounts them (with the driver libraries)
# into a container that asks for the compute capability, so they always match the
# kernel module. An NVIDIA CUDA base image is what that runtime expects; it also
# gives the sh the chart's readiness probe and preStop hook run. Pick a CUDA version
# the nodes' driver supports (the base image's own CUDA libraries are not used by the
# daemon).
ARG CUDA_BASE_IMAGE=nvidia/cuda:12.4.1-base-ubuntu22.04
FROM ${CUDA_BASE_IMAGE}
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
# The chart sets the same command, the pipe and log directories and every limit-free
# default; this CMD only makes `docker run --gpus all` of the image do the same.
CMD ["nvidia-cuda-mps-control", "-f"]
