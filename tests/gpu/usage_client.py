"""An MPS client for tests/gpu/run_usage_validation.sh: holds MIB of GPU memory
(through PyTorch) until killed, optionally keeping the GPU busy, and writes its
pid to READY once the memory is held. With --children N it starts N such
processes and touches CUDA itself never: one container, N MPS clients.

  python3 usage_client.py --mib 1536 --ready /tmp/a.ready [--busy] [--children 2]
"""
import argparse
import multiprocessing
import os
import time


def hold(mib, busy, ready):
    import torch

    block = torch.empty(mib * 1024 * 1024, dtype=torch.uint8, device="cuda")
    block.fill_(1)
    torch.cuda.synchronize()
    with open(ready + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(ready + ".tmp", ready)
    if not busy:
        while True:
            time.sleep(1)
    a = torch.randn(2048, 2048, device="cuda")
    while True:
        a = a @ a
        a = a / a.norm()
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, required=True)
    parser.add_argument("--ready", required=True)
    parser.add_argument("--busy", action="store_true")
    parser.add_argument("--children", type=int, default=0)
    args = parser.parse_args()
    if args.children == 0:
        hold(args.mib, args.busy, args.ready)
        return
    spawn = multiprocessing.get_context("spawn")
    children = [
        spawn.Process(target=hold, args=(args.mib, args.busy, f"{args.ready}.{i}"))
        for i in range(args.children)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()


if __name__ == "__main__":
    main()
