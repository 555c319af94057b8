# mpshare-node, the node agent (the chart's nodeAgent.image.repository). Build from
# the repository root:
#   docker build -f deploy/node.Dockerfile -t registry.example.com/mpshare-node:0.1.0 .
#
# As for the MPS daemon image (deploy/mps-daemon.Dockerfile), the NVIDIA parts are
# not in the image: nvidia-cuda-mps-control, nvidia-cuda-mps-server and
# libnvidia-ml.so.1 belong to the node's driver, and the NVIDIA container runtime
# mounts them into a container that asks for the compute and utility capabilities
# (the ENV below; the chart sets the same), so they always match the kernel
# module. A CUDA base image would only add the CUDA runtime, which the agent does
# not use, on Ubuntu libraries other than the Debian 12 ones it is built against;
# the runtime stage is Debian 12 slim, as for deploy/Dockerfile.

# --- build: the Debian 12 toolchain the project is tested with, plus gRPC and
# protobuf for the kubelet's device-plugin and PodResources APIs.
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost-dev libssl-dev nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev \
      libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only the sources of the build (the top CMakeLists.txt adds every component).
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY core/ core/
COPY platform/ platform/
COPY webhook/ webhook/
COPY extender/ extender/
COPY node/ node/
COPY demo/ demo/
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DMPSHARE_BUILD_TESTS=OFF -DMPSHARE_BUILD_BENCHMARKS=OFF -DMPSHARE_BUILD_DEMO=OFF \
 && cmake --build /build --target mpshare-node \
 && mkdir /out \
 && strip --strip-unneeded -o /out/mpshare-node /build/node/mpshare-node

# --- runtime: the shared libraries the binary links, nothing else.
#   libgrpc++1.51, libprotobuf32  the kubelet's gRPC APIs (they pull in libgrpc29,
#                                 abseil, re2 and c-ares)
#   libssl3, libyaml-cpp0.7, libsimdjson14, libstdc++6  as for deploy/Dockerfile
#   ca-certificates               trust for an API server outside the cluster's CA
# libnvidia-ml.so.1 is loaded at run time from what the NVIDIA runtime mounts.
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libstdc++6 libssl3 libyaml-cpp0.7 libsimdjson14 libgrpc++1.51 libprotobuf32 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
# Fails the build, not the rollout, if a shared library is missing.
RUN if ldd /usr/local/bin/mpshare-node | grep 'not found'; then exit 1; fi
# Every GPU, the driver's MPS binaries and NVML, through the NVIDIA runtime.
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
# Root: the agent opens the GPUs, the kubelet's sockets and the host's CDI
# directory, and starts the MPS daemons (the chart runs it privileged).
ENTRYPOINT ["mpshare-node"]
CMD ["serve"]
